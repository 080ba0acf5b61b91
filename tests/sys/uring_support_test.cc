// DetectUring on this machine (kernel 6.x, io_uring enabled) and BufRing.
#include "sys/uring_support.h"

#include <gtest/gtest.h>

#include "sys/buf_ring.h"

namespace tcpmax::sys {
namespace {

TEST(UringSupport, ReasonIsEmptyExactlyWhenEverythingWorks) {
  UringSupport s = DetectUring();
  EXPECT_EQ(s.ok(), s.reason.empty()) << s.reason;
  EXPECT_FALSE(s.kernel.empty());
  EXPECT_GT(s.table_slots, 0u);
}

TEST(UringSupport, WorksOnProjectMachines) {
  // The project's machines run kernel 6.x with io_uring enabled; a failure
  // here means the engines would silently fall back to epoll.
  UringSupport s = DetectUring();
  EXPECT_TRUE(s.rings);
  EXPECT_TRUE(s.direct_descriptors);
  EXPECT_TRUE(s.accept_direct);
  EXPECT_TRUE(s.buf_ring);
  EXPECT_TRUE(s.recv_multishot);
  sys::UringSupport c = DetectUringConnect();
  EXPECT_TRUE(c.connect_direct) << c.reason;
  EXPECT_TRUE(c.connect_ok());
  EXPECT_TRUE(s.ok()) << s.reason;
}

TEST(BufRing, RejectsCountNotPowerOfTwo) {
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(4, &ring, 0), 0);
  auto r = BufRing::Create(&ring, 0, 3, 64);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find("power of two"), std::string::npos);
  io_uring_queue_exit(&ring);
}

TEST(BufRing, BuffersAreDisjointAndRegistered) {
  io_uring ring;
  ASSERT_EQ(io_uring_queue_init(4, &ring, 0), 0);
  {
    auto r = BufRing::Create(&ring, 7, 8, 128);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->Buffer(1) - r->Buffer(0), 128);
    EXPECT_GE(r->mapped_bytes(), 8u * 128u);
    // The same group id cannot be registered twice on one ring.
    auto dup = BufRing::Create(&ring, 7, 8, 128);
    EXPECT_FALSE(dup.has_value());
  }
  io_uring_queue_exit(&ring);
}

}  // namespace
}  // namespace tcpmax::sys

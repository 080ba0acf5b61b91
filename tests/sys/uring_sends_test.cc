// UringSends on a real ring over a socketpair: a connection's bytes leave in
// order (what comes while a send is in flight waits behind it), a
// completion of a forgotten connection is stale, a failed send is reported.
#include "sys/uring_sends.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <string>

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

class UringSendsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    ASSERT_EQ(io_uring_queue_init(16, &ring_, 0), 0);
    ASSERT_EQ(io_uring_register_files(&ring_, &fds_[0], 1), 0);
  }
  void TearDown() override {
    io_uring_queue_exit(&ring_);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Submits, waits for one completion and hands it to `sends`.
  UringSends::Completion Next(UringSends& sends, bool live) {
    io_uring_submit(&ring_);
    io_uring_cqe* cqe = nullptr;
    EXPECT_EQ(io_uring_wait_cqe(&ring_, &cqe), 0);
    uint64_t ud = cqe->user_data;
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    EXPECT_TRUE(sends.Owns(ud));
    return sends.Complete(ud, res, [live](uint32_t, uint32_t) { return live; });
  }
  std::string Peer() {
    char buf[64];
    ssize_t n = ::recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

  int fds_[2];
  io_uring ring_{};
};

TEST_F(UringSendsTest, BytesLeaveInOrderOneSendInFlight) {
  UringSends sends(1, 9, [this] { return io_uring_get_sqe(&ring_); });
  ASSERT_TRUE(sends.Send(0, 1, "ab"));
  EXPECT_TRUE(sends.busy(0));
  ASSERT_TRUE(sends.Send(0, 1, "cd"));  // waits behind "ab"
  ASSERT_TRUE(sends.Send(0, 1, "ef"));
  EXPECT_EQ(Next(sends, true).outcome, UringSends::Outcome::kPending);  // "ab" done, "cdef" posted
  EXPECT_EQ(Next(sends, true).outcome, UringSends::Outcome::kDrained);
  EXPECT_FALSE(sends.busy(0));
  EXPECT_EQ(Peer(), "abcdef");
}

TEST_F(UringSendsTest, ForgottenConnectionCompletesStaleAndDropsWhatWaited) {
  UringSends sends(1, 9, [this] { return io_uring_get_sqe(&ring_); });
  ASSERT_TRUE(sends.Send(0, 1, "old"));
  ASSERT_TRUE(sends.Send(0, 1, "queued"));
  sends.Forget(0);  // the connection ended
  EXPECT_FALSE(sends.busy(0));
  UringSends::Completion c = Next(sends, /*live=*/false);
  EXPECT_EQ(c.outcome, UringSends::Outcome::kStale);
  EXPECT_EQ(Peer(), "old");  // what was in flight went; what waited did not
}

TEST_F(UringSendsTest, FailedSendIsReportedWithItsErrno) {
  UringSends sends(1, 9, [this] { return io_uring_get_sqe(&ring_); });
  ::close(fds_[1]);
  fds_[1] = ::open("/dev/null", O_RDONLY);  // keep TearDown's close valid
  ASSERT_TRUE(sends.Send(0, 4, "x"));
  UringSends::Completion c = Next(sends, true);
  EXPECT_EQ(c.outcome, UringSends::Outcome::kFailed);
  EXPECT_EQ(c.slot, 0u);
  EXPECT_EQ(c.error, EPIPE);
}

}  // namespace
}  // namespace tcpmax::sys

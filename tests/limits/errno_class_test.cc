#include "limits/errno_class.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax::limits {
namespace {

TEST(ErrnoClass, ClassifiesTheNamedErrnos) {
  EXPECT_EQ(ClassifyErrno(EMFILE), ErrnoClass::kEmfile);
  EXPECT_EQ(ClassifyErrno(ENFILE), ErrnoClass::kEnfile);
  EXPECT_EQ(ClassifyErrno(EADDRNOTAVAIL), ErrnoClass::kEaddrnotavail);
  EXPECT_EQ(ClassifyErrno(EADDRINUSE), ErrnoClass::kEaddrinuse);
  EXPECT_EQ(ClassifyErrno(ECONNREFUSED), ErrnoClass::kEconnrefused);
  EXPECT_EQ(ClassifyErrno(ETIMEDOUT), ErrnoClass::kEtimedout);
  EXPECT_EQ(ClassifyErrno(kTimeoutErrno), ErrnoClass::kEtimedout);
  EXPECT_EQ(ClassifyErrno(ECONNRESET), ErrnoClass::kEconnreset);
  EXPECT_EQ(ClassifyErrno(EPIPE), ErrnoClass::kEpipe);
  EXPECT_EQ(ClassifyErrno(ENETUNREACH), ErrnoClass::kEnetunreach);
  EXPECT_EQ(ClassifyErrno(ENOBUFS), ErrnoClass::kEnobufs);
  EXPECT_EQ(ClassifyErrno(ENOMEM), ErrnoClass::kEnobufs);
  EXPECT_EQ(ClassifyErrno(EPERM), ErrnoClass::kOther);
}

TEST(ErrnoClass, KeysAndTexts) {
  EXPECT_EQ(ErrorKey(EADDRNOTAVAIL), "EADDRNOTAVAIL");
  EXPECT_EQ(ErrorKey(ENOMEM), "ENOBUFS");
  EXPECT_EQ(ErrorKey(kTimeoutErrno), "ETIMEDOUT");
  EXPECT_EQ(ErrorKey(EPERM), "EPERM");
  EXPECT_NE(ErrorRemedy(EMFILE).find("ulimit -n"), std::string_view::npos);
  EXPECT_NE(ErrorMeaning(ECONNREFUSED).find("nothing is listening"), std::string_view::npos);
  EXPECT_NE(ErrorRemedy(EADDRNOTAVAIL).find("ip_local_port_range"), std::string_view::npos);
  for (int c = 0; c < kErrnoClassCount; ++c) {
    EXPECT_FALSE(Describe(static_cast<ErrnoClass>(c)).meaning.empty());
    EXPECT_FALSE(Describe(static_cast<ErrnoClass>(c)).remedy.empty());
  }
}

TEST(ErrnoClass, KeyRoundTrip) {
  EXPECT_EQ(ErrnoFromKey("EADDRNOTAVAIL"), EADDRNOTAVAIL);
  EXPECT_EQ(ErrnoFromKey("ETIMEDOUT"), ETIMEDOUT);
  EXPECT_EQ(ErrnoFromKey("EPERM"), EPERM);
  EXPECT_EQ(ErrnoFromKey("NOPE"), 0);
}

TEST(ErrorCounts, GroupsByClassLargestFirst) {
  ErrorCounts a, b;
  a.Record(ENOMEM);
  a.Record(ENOBUFS);
  a.Record(ECONNREFUSED);
  b.Record(ETIMEDOUT);
  b.Record(kTimeoutErrno);
  b.Record(kTimeoutErrno);
  b.Record(EPERM);
  a.Merge(b);
  EXPECT_EQ(a.Total(), 7u);
  auto keys = a.ByKey();
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[0].first, "ETIMEDOUT");
  EXPECT_EQ(keys[0].second, 3u);
  EXPECT_EQ(keys[1].first, "ENOBUFS");
  EXPECT_EQ(keys[1].second, 2u);
  EXPECT_EQ(keys[2].second, 1u);
  EXPECT_EQ(keys[3].second, 1u);
}

TEST(ErrorCounts, EmptyHasNoKeys) {
  ErrorCounts c;
  EXPECT_EQ(c.Total(), 0u);
  EXPECT_TRUE(c.ByKey().empty());
}

}  // namespace
}  // namespace tcpmax::limits

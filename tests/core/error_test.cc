#include "core/error.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

TEST(Error, ToStringKeepsErrnoNameAndContext) {
  Error e{EADDRNOTAVAIL, "connect 127.0.0.5 -> 127.0.0.1:7000"};
  EXPECT_EQ(e.ToString(), "connect 127.0.0.5 -> 127.0.0.1:7000: EADDRNOTAVAIL (Cannot assign requested address)");
  Error plain{0, "bad flag"};
  EXPECT_EQ(plain.ToString(), "bad flag");
}

TEST(Error, ErrnoErrorReadsErrno) {
  errno = EMFILE;
  Result<int> r = ErrnoError("socket");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EMFILE);
  EXPECT_EQ(ErrnoName(ENFILE), "ENFILE");
}

}  // namespace
}  // namespace tcpmax

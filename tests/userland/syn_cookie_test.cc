#include "userland/tcp/syn_cookie.h"

#include <gtest/gtest.h>

namespace tcpmax::userland::tcp {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

SynCookies Cookies() { return SynCookies(SipKey{1, 2}, SipKey{3, 4}); }
FourTuple Tuple() { return FourTuple{0xc6130001, 0xc6120001, 40000, 80}; }

TEST(SynCookieTest, RoundTripEveryMssIndex) {
  SynCookies c = Cookies();
  for (uint32_t idx = 0; idx < SynCookies::kMssTable.size(); ++idx) {
    uint64_t now = 1000 * kSec;
    uint32_t cookie = c.Make(Tuple(), 12345, idx, now);
    auto got = c.Check(Tuple(), 12345, cookie, now + 5 * kSec);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, idx);
  }
}

TEST(SynCookieTest, RoundTripAcrossSequenceWrap) {
  SynCookies c = Cookies();
  uint32_t cookie = c.Make(Tuple(), 0xffffffffu, 3, 7 * kSec);
  EXPECT_EQ(c.Check(Tuple(), 0xffffffffu, cookie, 7 * kSec), 3u);
}

TEST(SynCookieTest, ExpiresAfterMaxAge) {
  SynCookies c = Cookies();
  uint64_t t0 = 10 * SynCookies::kPeriodNs;
  uint32_t cookie = c.Make(Tuple(), 99, 2, t0);
  EXPECT_TRUE(c.Check(Tuple(), 99, cookie, t0 + SynCookies::kPeriodNs).has_value());  // one period old
  EXPECT_FALSE(c.Check(Tuple(), 99, cookie, t0 + 2 * SynCookies::kPeriodNs).has_value());
  EXPECT_FALSE(c.Check(Tuple(), 99, cookie, t0 + 100 * SynCookies::kPeriodNs).has_value());
}

TEST(SynCookieTest, RejectsOtherTupleIsnOrKey) {
  SynCookies c = Cookies();
  uint64_t now = 50 * kSec;
  uint32_t cookie = c.Make(Tuple(), 777, 1, now);
  FourTuple other = Tuple();
  other.src_port++;
  EXPECT_FALSE(c.Check(other, 777, cookie, now).has_value());
  // As in Linux, an offset smaller than the MSS table only moves the MSS
  // index (never to the original one); larger offsets fail.
  EXPECT_NE(c.Check(Tuple(), 778, cookie, now), std::optional<uint32_t>(1));
  EXPECT_FALSE(c.Check(Tuple(), 777 + 1000, cookie, now).has_value());
  EXPECT_FALSE(c.Check(Tuple(), 777, cookie + 1000, now).has_value());
  EXPECT_FALSE(c.Check(Tuple(), 777, cookie - 3, now).has_value());
  SynCookies other_key(SipKey{9, 9}, SipKey{3, 4});
  EXPECT_FALSE(other_key.Check(Tuple(), 777, cookie, now).has_value());
}

TEST(SynCookieTest, ForgeriesRarelyPass) {
  SynCookies c = Cookies();
  int passed = 0;
  for (uint32_t guess = 0; guess < 200000; ++guess) {
    if (c.Check(Tuple(), 1, guess * 2654435761u, 3 * kSec)) ++passed;
  }
  // 2 valid counters x 4 MSS values of 2^32: ~2^-27 each; expect 0.
  EXPECT_LE(passed, 1);
}

TEST(SynCookieTest, MssIndex) {
  EXPECT_EQ(SynCookies::MssIndex(0), 0u);
  EXPECT_EQ(SynCookies::MssIndex(536), 0u);
  EXPECT_EQ(SynCookies::MssIndex(1299), 0u);
  EXPECT_EQ(SynCookies::MssIndex(1300), 1u);
  EXPECT_EQ(SynCookies::MssIndex(1460), 3u);
  EXPECT_EQ(SynCookies::MssIndex(65495), 3u);
}

}  // namespace
}  // namespace tcpmax::userland::tcp

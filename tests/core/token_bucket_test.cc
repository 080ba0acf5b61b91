#include "core/token_bucket.h"

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

TEST(TokenBucket, UnlimitedGivesEverything) {
  TokenBucket b(0, 0, 0);
  EXPECT_EQ(b.Take(0, 12345), 12345u);
  EXPECT_EQ(b.NanosUntilToken(0), 0u);
}

TEST(TokenBucket, PacesToTheRate) {
  TokenBucket b(1000, 10, 0);  // 1000/s, burst 10
  EXPECT_EQ(b.Take(0, 100), 1u);          // starts with one token
  EXPECT_EQ(b.Take(0, 100), 0u);
  EXPECT_EQ(b.Take(kSec / 200, 100), 5u); // 5 ms later: 5 tokens
  EXPECT_EQ(b.Take(10 * kSec, 100), 10u); // long idle: capped at the burst
  uint64_t total = 0;
  for (uint64_t t = 10 * kSec; t <= 11 * kSec; t += kSec / 1000) total += b.Take(t, 100);
  EXPECT_NEAR(static_cast<double>(total), 1000.0, 2.0);
}

TEST(TokenBucket, ANewRateHoldsFromNowOn) {
  TokenBucket b(1000, 10, 0);
  b.Take(0, 100);
  b.SetRate(250, kSec);  // tokens banked before count at the old rate, up to the new burst
  uint64_t total = 0;
  for (uint64_t t = kSec; t <= 2 * kSec; t += kSec / 1000) total += b.Take(t, 100);
  EXPECT_NEAR(static_cast<double>(total), 250.0, 4.0);
  EXPECT_EQ(b.rate(), 250.0);
}

TEST(TokenBucket, TellsWhenTheNextTokenComes) {
  TokenBucket b(100, 1, 0);
  EXPECT_EQ(b.Take(0, 1), 1u);
  uint64_t wait = b.NanosUntilToken(0);
  EXPECT_GT(wait, kSec / 100 - 1000);
  EXPECT_LE(wait, kSec / 100 + 1000);
  EXPECT_EQ(b.Take(wait, 1), 1u);
}

TEST(TokenBucket, AvailableDoesNotTakeAndSpendDoes) {
  TokenBucket b(1000, 64, 0);
  EXPECT_EQ(b.Available(kSec, 256), 64u) << "at most the burst is banked";
  EXPECT_EQ(b.Available(kSec, 10), 10u) << "capped by the caller";
  EXPECT_EQ(b.Available(kSec, 256), 64u) << "looking takes nothing";
  b.Spend(60);
  EXPECT_EQ(b.Available(kSec, 256), 4u);
  TokenBucket unlimited(0, 1, 0);
  EXPECT_EQ(unlimited.Available(0, 256), 256u);
}

}  // namespace
}  // namespace tcpmax

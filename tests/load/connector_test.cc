#include "load/connector.h"

#include <gtest/gtest.h>

namespace tcpmax::load {
namespace {

TEST(PingPacer, SpreadsEachRoundEvenlyOverTheInterval) {
  constexpr uint64_t kI = 1'000'000'000ull;
  PingPacer p(kI, 0);
  EXPECT_EQ(p.Due(kI / 2, 1000), (std::pair<size_t, size_t>{0, 0}));  // first round starts after one interval
  EXPECT_EQ(p.WaitHint(kI / 2), kI / 2);
  EXPECT_EQ(p.Due(kI + kI / 4, 1000), (std::pair<size_t, size_t>{0, 250}));
  EXPECT_EQ(p.Due(kI + kI / 2, 1000), (std::pair<size_t, size_t>{250, 500}));
  EXPECT_EQ(p.WaitHint(kI + kI / 2), 2'000'000u);
  EXPECT_EQ(p.Due(2 * kI, 1000), (std::pair<size_t, size_t>{500, 1000}));  // round complete
  EXPECT_EQ(p.Due(2 * kI + kI / 10, 1000), (std::pair<size_t, size_t>{0, 100}));  // next round
  // Busy for several intervals: finish this round once, skip the missed ones.
  EXPECT_EQ(p.Due(6 * kI + kI / 2, 1000), (std::pair<size_t, size_t>{100, 1000}));
  EXPECT_EQ(p.Due(6 * kI + kI / 2, 1000), (std::pair<size_t, size_t>{0, 500}));
}

TEST(PingPacer, NoIntervalNoPings) {
  PingPacer p(0, 0);
  EXPECT_EQ(p.Due(123456789, 1000), (std::pair<size_t, size_t>{0, 0}));
  EXPECT_EQ(p.WaitHint(5), UINT64_MAX);
}

}  // namespace
}  // namespace tcpmax::load

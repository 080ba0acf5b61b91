#include "core/histogram.h"

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

TEST(Histogram, EmptyIsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Quantile(0.5), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(Histogram, QuantilesWithinThreePercent) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.Record(v * 1000);  // 1us .. 100ms
  EXPECT_EQ(h.count(), 100000u);
  auto near = [](uint64_t got, double want) { return std::abs(double(got) - want) / want < 0.035; };
  EXPECT_TRUE(near(h.Quantile(0.5), 50e6)) << h.Quantile(0.5);
  EXPECT_TRUE(near(h.Quantile(0.99), 99e6)) << h.Quantile(0.99);
  EXPECT_TRUE(near(h.Quantile(0.999), 99.9e6)) << h.Quantile(0.999);
  EXPECT_EQ(h.Quantile(1.0), 100000000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 100000000u);
  EXPECT_NEAR(h.mean(), 50000.5 * 1000, 1);
}

TEST(Histogram, SmallValuesExact) {
  Histogram h;
  for (uint64_t v : {0, 1, 2, 3, 31}) h.Record(v);
  EXPECT_EQ(h.Quantile(0.2), 0u);
  EXPECT_EQ(h.Quantile(0.4), 1u);
  EXPECT_EQ(h.Quantile(1.0), 31u);
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b;
  for (int i = 0; i < 10; ++i) a.Record(100);
  for (int i = 0; i < 30; ++i) b.Record(10000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_EQ(a.min(), 100u);
  EXPECT_EQ(a.max(), 10000u);
  EXPECT_LE(a.Quantile(0.25), 103u);
  EXPECT_GE(a.Quantile(0.5), 9700u);
}

}  // namespace
}  // namespace tcpmax

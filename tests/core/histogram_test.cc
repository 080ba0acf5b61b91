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

namespace tcpmax {
namespace {

TEST(HistogramBuckets, RoundTripIsExact) {
  Histogram h;
  for (uint64_t v : {0ull, 1ull, 31ull, 32ull, 1000ull, 123456ull, 123457ull, 9'999'999'999ull}) h.Record(v);
  auto back = Histogram::FromBuckets(h.Buckets(), h.count(), h.sum(), h.min(), h.max());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, h);
  EXPECT_EQ(back->Quantile(0.99), h.Quantile(0.99));
}

TEST(HistogramBuckets, EdgesContainTheirValues) {
  for (uint64_t v : std::vector<uint64_t>{0, 5, 32, 33, 1000000, UINT64_MAX}) {
    int b = Histogram::BucketOf(v);
    EXPECT_LE(Histogram::LowerOf(b), v);
    EXPECT_GE(Histogram::UpperOf(b), v);
  }
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) EXPECT_EQ(Histogram::UpperOf(b) + 1, Histogram::LowerOf(b + 1));
}

TEST(HistogramBuckets, InconsistentPartsAreRefused) {
  Histogram h;
  h.Record(100);
  h.Record(5000);
  auto b = h.Buckets();
  EXPECT_FALSE(Histogram::FromBuckets(b, 3, h.sum(), h.min(), h.max()).has_value());     // count
  EXPECT_FALSE(Histogram::FromBuckets(b, 2, h.sum(), 1, h.max()).has_value());           // min outside
  EXPECT_FALSE(Histogram::FromBuckets(b, 2, h.sum(), h.min(), 99999).has_value());       // max outside
  EXPECT_FALSE(Histogram::FromBuckets({{Histogram::kBuckets, 1}}, 1, 0, 0, 0).has_value());
  EXPECT_EQ(h.CountThrough(Histogram::BucketOf(100)), 1u);
  EXPECT_EQ(h.CountThrough(Histogram::kBuckets - 1), 2u);
}

}  // namespace
}  // namespace tcpmax

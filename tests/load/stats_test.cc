#include "load/stats.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax::load {
namespace {

LoadStats Sample(uint64_t base) {
  LoadStats s;
  s.target = 100;
  s.attempted = 100;
  s.opened = 90 + base;
  s.failed = 10 - base;
  s.closed = 3;
  s.pings_sent = 50;
  s.pongs = 49;
  s.pongs_bad = 1;
  s.rss_bytes = 4096;
  s.t = 1.5 + base;
  s.ramp_seconds = 0.25;
  s.errors.Record(EADDRNOTAVAIL);
  s.errors.Record(limits::kTimeoutErrno);
  for (uint64_t v = 1000; v < 100000; v += 1000) s.connect_ns.Record(v + base);
  s.rtt_ns.Record(5000);
  return s;
}

TEST(LoadStats, ShardReportRoundTripKeepsEverything) {
  LoadStats s = Sample(1);
  sys::ShardReport r = ToShardReport(s, sys::ShardKind::kFinal);
  EXPECT_EQ(r.held, s.held());
  auto decoded = sys::DecodeReport(sys::EncodeReport(r));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  LoadStats back = FromShardReport(*decoded);
  EXPECT_EQ(back.opened, s.opened);
  EXPECT_EQ(back.failed, s.failed);
  EXPECT_EQ(back.closed, s.closed);
  EXPECT_EQ(back.pongs_bad, 1u);
  EXPECT_EQ(back.errors.ByErrno(), s.errors.ByErrno());
  EXPECT_EQ(back.connect_ns.count(), s.connect_ns.count());
  EXPECT_EQ(back.connect_ns.Quantile(0.99), s.connect_ns.Quantile(0.99));
  EXPECT_EQ(back.rtt_ns.max(), 5000u);
}

TEST(LoadStats, ProgressReportsCarryNoHistogram) {
  sys::ShardReport r = ToShardReport(Sample(0), sys::ShardKind::kProgress);
  EXPECT_FALSE(r.connect_ns.has_value());
  EXPECT_EQ(FromShardReport(r).connect_ns.count(), 0u);
}

TEST(LoadStats, MergeSumsAndTakesMaxTime) {
  LoadStats a = Sample(0), b = Sample(2);
  a.Merge(b);
  EXPECT_EQ(a.opened, 90u + 92u);
  EXPECT_EQ(a.held(), 90u + 92u - 6u);
  EXPECT_DOUBLE_EQ(a.t, 3.5);
  EXPECT_EQ(a.errors.Total(), 4u);
  EXPECT_EQ(a.connect_ns.count(), 2 * b.connect_ns.count());
}

}  // namespace
}  // namespace tcpmax::load

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

TEST(LoadStats, ShardJsonRoundTripKeepsEverything) {
  LoadStats s = Sample(1);
  auto back = FromShardJson(ToShardJson(s, true));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->opened, s.opened);
  EXPECT_EQ(back->failed, s.failed);
  EXPECT_EQ(back->closed, s.closed);
  EXPECT_EQ(back->pongs_bad, 1u);
  EXPECT_EQ(back->errors.ByErrno(), s.errors.ByErrno());
  EXPECT_EQ(back->connect_ns.count(), s.connect_ns.count());
  EXPECT_EQ(back->connect_ns.Quantile(0.99), s.connect_ns.Quantile(0.99));
  EXPECT_EQ(back->rtt_ns.max(), 5000u);
}

TEST(LoadStats, ProgressShardLinesCarryNoHistogram) {
  nlohmann::json j = ToShardJson(Sample(0), false);
  EXPECT_EQ(j["type"], "shard");
  EXPECT_FALSE(j.contains("connect_hist"));
  auto back = FromShardJson(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->connect_ns.count(), 0u);
  EXPECT_FALSE(FromShardJson(nlohmann::json{{"type", "shard"}}).has_value());
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

TEST(LoadStats, ProgressAndSummaryJsonHaveTheProbeFields) {
  LoadStats s = Sample(0);
  nlohmann::json p = ToProgressJson(s, 123.5);
  for (const char* key : {"type", "t", "target", "opened", "held", "failed", "rate", "errors", "rss_bytes"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }
  EXPECT_EQ(p["type"], "progress");
  EXPECT_EQ(p["held"].get<uint64_t>(), 87u);
  EXPECT_EQ(p["errors"]["EADDRNOTAVAIL"].get<int>(), 1);
  EXPECT_EQ(p["errors"]["ETIMEDOUT"].get<int>(), 1);
  nlohmann::json sum = ToSummaryJson(s);
  EXPECT_EQ(sum["connect_time"]["unit"], "ns");
  EXPECT_GT(sum["connect_time"]["p99"].get<uint64_t>(), 0u);
  ASSERT_EQ(sum["error_detail"].size(), 2u);
  EXPECT_FALSE(sum["error_detail"][0]["remedy"].get<std::string>().empty());
}

}  // namespace
}  // namespace tcpmax::load

#include "sys/shard_messages.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

TEST(ShardMessages, EveryFieldSurvivesTheRoundTrip) {
  ShardReport r;
  r.kind = ShardKind::kFinal;
  r.t = 12.5;
  r.target = 100;
  r.attempted = 99;
  r.opened = 90;
  r.failed = 9;
  r.closed = 3;
  r.inflight = 1;
  r.held = 87;
  r.pings_sent = 5;
  r.pongs = 4;
  r.pongs_bad = 1;
  r.rss_bytes = 1 << 20;
  r.rss_start_bytes = 1 << 19;
  r.anon_bytes = 1 << 18;
  r.anon_start_bytes = 1 << 17;
  r.ramp_seconds = 2.25;
  r.opening_stopped = true;
  r.errors = {{EMFILE, 7}, {4095, 2}};
  Histogram h;
  h.Record(1000);
  h.Record(5'000'000);
  r.connect_ns = h;
  r.rtt_ns = Histogram();
  auto back = DecodeReport(EncodeReport(r));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->kind, ShardKind::kFinal);
  EXPECT_DOUBLE_EQ(back->t, 12.5);
  EXPECT_EQ(back->target, 100u);
  EXPECT_EQ(back->attempted, 99u);
  EXPECT_EQ(back->opened, 90u);
  EXPECT_EQ(back->failed, 9u);
  EXPECT_EQ(back->closed, 3u);
  EXPECT_EQ(back->inflight, 1u);
  EXPECT_EQ(back->held, 87u);
  EXPECT_EQ(back->pings_sent, 5u);
  EXPECT_EQ(back->pongs, 4u);
  EXPECT_EQ(back->pongs_bad, 1u);
  EXPECT_EQ(back->rss_bytes, 1u << 20);
  EXPECT_EQ(back->rss_start_bytes, 1u << 19);
  EXPECT_EQ(back->anon_bytes, 1u << 18);
  EXPECT_EQ(back->anon_start_bytes, 1u << 17);
  EXPECT_DOUBLE_EQ(back->ramp_seconds, 2.25);
  EXPECT_TRUE(back->opening_stopped);
  EXPECT_EQ(back->errors, r.errors);
  ASSERT_TRUE(back->connect_ns.has_value());
  EXPECT_EQ(back->connect_ns->count(), 2u);
  EXPECT_EQ(back->connect_ns->max(), h.max());
  EXPECT_EQ(back->connect_ns->Quantile(0.5), h.Quantile(0.5));
  ASSERT_TRUE(back->rtt_ns.has_value());
  EXPECT_EQ(back->rtt_ns->count(), 0u);
}

TEST(ShardMessages, FailedReportCarriesItsError) {
  ShardReport r;
  r.kind = ShardKind::kFailed;
  r.error = "listen 127.0.0.1:7000: EADDRINUSE (Address already in use)";
  auto back = DecodeReport(EncodeReport(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->kind, ShardKind::kFailed);
  EXPECT_EQ(back->error, r.error);
  EXPECT_FALSE(back->connect_ns.has_value());
}

TEST(ShardMessages, BadLinesAreErrorsThatSayWhy) {
  EXPECT_FALSE(DecodeReport("not json").has_value());
  EXPECT_FALSE(DecodeReport("[1,2]").has_value());
  auto old = DecodeReport(R"({"v":1,"kind":"progress"})");
  ASSERT_FALSE(old.has_value());
  EXPECT_NE(old.error().context.find("protocol 1"), std::string::npos);
  std::string line = EncodeReport(ShardReport{});
  std::string unknown = line;
  unknown.replace(unknown.find("\"progress\""), 10, "\"bogus\"");
  EXPECT_FALSE(DecodeReport(unknown).has_value());
  std::string missing = line;
  missing.replace(missing.find("\"held\""), 6, "\"hold\"");
  auto m = DecodeReport(missing);
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().context.find("held"), std::string::npos) << m.error().context;
}

TEST(ShardMessages, CommandsDecodeAndUnknownBytesDoNot) {
  EXPECT_EQ(DecodeCommand('o'), ShardCommand::kStopOpening);
  EXPECT_EQ(DecodeCommand('s'), ShardCommand::kStop);
  EXPECT_EQ(DecodeCommand('-'), ShardCommand::kSlower);
  EXPECT_EQ(DecodeCommand('+'), ShardCommand::kFaster);
  EXPECT_FALSE(DecodeCommand('x').has_value());
}

}  // namespace
}  // namespace tcpmax::sys

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

TEST(LoadStats, SessionFiguresSurviveTheShardContract) {
  LoadStats s = Sample(0);
  SessionStats& ss = s.session;
  ss.ready = 80;
  ss.pending = 3;
  ss.tls_done = 82;
  ss.tls_resumed = 40;
  ss.tls_parked = 39;
  ss.messages_sent = 500;
  ss.messages_received = 498;
  ss.echo_ok = 497;
  ss.reopened = 7;
  ss.bytes_sent = 12345;
  ss.bytes_received = 12000;
  ss.http_status[1] = 498;
  ss.http_status[4] = 2;
  ss.errors.Add(proto::ProtoError::kHttp5xx, 2);
  ss.errors.Record(proto::ProtoError::kTlsAlertUnknownCa);
  ss.tls_ns.Record(3'000'000);
  ss.ready_ns.Record(4'000'000);
  ss.message_rtt_ns.Record(90'000);
  for (auto kind : {sys::ShardKind::kProgress, sys::ShardKind::kFinal}) {
    auto decoded = sys::DecodeReport(sys::EncodeReport(ToShardReport(s, kind)));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
    SessionStats back = FromShardReport(*decoded).session;
    EXPECT_EQ(back.ready, 80u);
    EXPECT_EQ(back.pending, 3u);
    EXPECT_EQ(back.tls_done, 82u);
    EXPECT_EQ(back.tls_resumed, 40u);
    EXPECT_EQ(back.tls_parked, 39u);
    EXPECT_EQ(back.messages_sent, 500u);
    EXPECT_EQ(back.messages_received, 498u);
    EXPECT_EQ(back.echo_ok, 497u);
    EXPECT_EQ(back.reopened, 7u);
    EXPECT_EQ(back.bytes_sent, 12345u);
    EXPECT_EQ(back.bytes_received, 12000u);
    EXPECT_EQ(back.http_status[1], 498u);
    EXPECT_EQ(back.http_status[4], 2u);
    EXPECT_EQ(back.errors.Get(proto::ProtoError::kHttp5xx), 2u);
    EXPECT_EQ(back.errors.Get(proto::ProtoError::kTlsAlertUnknownCa), 1u);
    uint64_t hist = kind == sys::ShardKind::kFinal ? 1u : 0u;  // histograms travel with kFinal only
    EXPECT_EQ(back.tls_ns.count(), hist);
    EXPECT_EQ(back.ready_ns.count(), hist);
    EXPECT_EQ(back.message_rtt_ns.count(), hist);
  }
  // A run without the session layer sends no session object.
  EXPECT_FALSE(ToShardReport(Sample(0), sys::ShardKind::kFinal).session.has_value());
}

TEST(LoadStats, PendingSessionsHoldTheRamp) {
  LoadStats s;
  s.target = s.attempted = s.opened = 10;
  EXPECT_TRUE(s.ramp_done());
  s.session.pending = 1;
  EXPECT_FALSE(s.ramp_done());
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

#include "dist/merge.h"

#include <random>

#include <gtest/gtest.h>

#include "dist/rank_result.h"

namespace tcpmax::dist {
namespace {

// A rank with `samples` random latencies; `all` collects every sample.
RankResult MakeRank(int rank, int size, std::mt19937_64& rng, Histogram* all, const std::string& run = "run-1") {
  RankResult r;
  r.run_id = run;
  r.rank = rank;
  r.size = size;
  r.launcher = "flags";
  r.host = "box";
  r.connections = 1000 + rng() % 100;
  r.start_unix = 1'700'000'000.0 + (rng() % 50) / 1000.0;
  r.ramp_seconds = 1.0 + (rng() % 100) / 1000.0;
  r.totals.target = r.connections;
  r.totals.failed = rng() % 5;
  r.totals.opened = r.connections - r.totals.failed;
  r.totals.attempted = r.connections;
  r.totals.held = r.totals.opened;
  if (r.totals.failed) r.totals.errors["EADDRNOTAVAIL"] = r.totals.failed;
  r.totals.errors["ETIMEDOUT"] += rank;
  std::lognormal_distribution<double> lat(11.0, 1.5);  // ~60 us median, long tail
  for (uint64_t i = 0; i < r.totals.opened; ++i) {
    uint64_t v = static_cast<uint64_t>(lat(rng)) + 1;
    r.totals.connect_ns.Record(v);
    if (all) all->Record(v);
  }
  return r;
}

TEST(Merge, SumsExactlyAndHistogramEqualsAllSamples) {
  std::mt19937_64 rng(7);
  Histogram all;
  std::vector<RankResult> ranks;
  uint64_t opened = 0, failed = 0;
  for (int r = 0; r < 5; ++r) {
    ranks.push_back(MakeRank(r, 5, rng, &all));
    opened += ranks.back().totals.opened;
    failed += ranks.back().totals.failed;
  }
  auto m = MergeRanks(ranks);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->totals.opened, opened);
  EXPECT_EQ(m->totals.failed, failed);
  EXPECT_EQ(m->totals.errors["ETIMEDOUT"], 0u + 1 + 2 + 3 + 4);
  EXPECT_EQ(m->totals.connect_ns, all);  // bucket for bucket, count, sum, min, max
  EXPECT_LE(m->totals.connect_ns.Quantile(0.99), m->totals.connect_ns.max());
  EXPECT_TRUE(m->missing.empty());
}

TEST(Merge, AssociativeAndOrderFree) {
  std::mt19937_64 rng(11);
  RankResult a = MakeRank(0, 3, rng, nullptr), b = MakeRank(1, 3, rng, nullptr), c = MakeRank(2, 3, rng, nullptr);
  RankTotals ab = a.totals;
  ab.Add(b.totals);
  RankTotals ab_c = ab;
  ab_c.Add(c.totals);
  RankTotals bc = b.totals;
  bc.Add(c.totals);
  RankTotals a_bc = a.totals;
  a_bc.Add(bc);
  EXPECT_EQ(ab_c, a_bc);
  auto m1 = MergeRanks({a, b, c});
  auto m2 = MergeRanks({c, a, b});
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(m1->totals, ab_c);
  EXPECT_EQ(m2->totals, ab_c);
}

TEST(Merge, RunIdMismatchIsRefused) {
  std::mt19937_64 rng(3);
  auto m = MergeRanks({MakeRank(0, 2, rng, nullptr, "run-a"), MakeRank(1, 2, rng, nullptr, "run-b")});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().context, "run id mismatch: rank 0 is from run 'run-a', rank 1 from run 'run-b'");
}

TEST(Merge, DuplicatesSizesAndMissing) {
  std::mt19937_64 rng(5);
  EXPECT_FALSE(MergeRanks({MakeRank(1, 3, rng, nullptr), MakeRank(1, 3, rng, nullptr)}));
  EXPECT_FALSE(MergeRanks({MakeRank(0, 3, rng, nullptr), MakeRank(1, 2, rng, nullptr)}));
  auto m = MergeRanks({MakeRank(0, 4, rng, nullptr), MakeRank(2, 4, rng, nullptr)});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->missing, (std::vector<int>{1, 3}));
}

TEST(Merge, NamesStragglersAndSkew) {
  std::mt19937_64 rng(9);
  std::vector<RankResult> ranks;
  for (int r = 0; r < 4; ++r) {
    ranks.push_back(MakeRank(r, 4, rng, nullptr));
    ranks.back().start_unix = 1000.0;
    ranks.back().ramp_seconds = 1.0;
  }
  ranks[2].ramp_seconds = 3.0;
  ranks[3].start_unix = 1000.5;
  auto m = MergeRanks(ranks);
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(m->start_skew_seconds, 0.5);
  ASSERT_EQ(m->stragglers.size(), 2u);
  EXPECT_EQ(m->stragglers[0].rank, 2);
  EXPECT_EQ(m->stragglers[0].why, "ramp 3.00 s, median 1.00 s");
  EXPECT_EQ(m->stragglers[1].rank, 3);
}

TEST(RankResult, JsonRoundTripIsLossless) {
  std::mt19937_64 rng(21);
  RankResult r = MakeRank(1, 2, rng, nullptr);
  r.totals.rtt_ns.Record(123456789);
  r.totals.closed_after_ns.Record(5'000'000'000);
  r.start_at = "2026-12-01T09:30:00.000Z";
  r.clock_offset_ns = -1234;
  r.targets = {"198.18.0.1:7000"};
  auto back = RankResultFromJson(nlohmann::json::parse(RankResultToJson(r).dump()));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->totals, r.totals);
  EXPECT_EQ(back->start_at, r.start_at);
  EXPECT_EQ(back->clock_offset_ns, r.clock_offset_ns);
  EXPECT_EQ(back->targets, r.targets);
  EXPECT_EQ(back->start_unix, r.start_unix);
}

// Session figures (the session layer of load) travel in the rank file and merge exactly.
TEST(RankResult, SessionFiguresRoundTripAndMerge) {
  std::mt19937_64 rng(23);
  RankResult a = MakeRank(0, 2, rng, nullptr), b = MakeRank(1, 2, rng, nullptr);
  Histogram rtt_all;
  for (RankResult* r : {&a, &b}) {
    RankSession& s = r->totals.session.emplace();
    s.ready = 100 + r->rank;
    s.tls_done = 90;
    s.tls_parked = 80 + r->rank;
    s.messages_sent = 1000;
    s.messages_received = 999 - r->rank;
    s.closes_sent = 7;
    s.http_status[1] = 500;
    s.errors["ws_close_1006"] = 1 + r->rank;
    for (int i = 0; i < 50; ++i) {
      uint64_t v = 1000 + rng() % 100000;
      s.message_rtt_ns.Record(v);
      rtt_all.Record(v);
    }
    s.tls_ns.Record(2'000'000);
  }
  auto back = RankResultFromJson(nlohmann::json::parse(RankResultToJson(a).dump()));
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->totals, a.totals);
  ASSERT_TRUE(back->totals.session);
  EXPECT_EQ(back->totals.session->tls_parked, 80u);
  RankResult plain = MakeRank(1, 2, rng, nullptr);  // a rank without sessions: no "session" key
  EXPECT_FALSE(RankResultToJson(plain)["totals"].contains("session"));
  auto m = MergeRanks({a, b});
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->totals.session);
  const RankSession& s = *m->totals.session;
  EXPECT_EQ(s.ready, 201u);
  EXPECT_EQ(s.tls_parked, 161u);
  EXPECT_EQ(s.messages_received, 1997u);
  EXPECT_EQ(s.http_status[1], 1000u);
  EXPECT_EQ(s.errors.at("ws_close_1006"), 3u);
  EXPECT_EQ(s.message_rtt_ns, rtt_all);
  nlohmann::json broken = RankResultToJson(a);
  broken["totals"]["session"]["http_status"] = {1, 2};
  EXPECT_FALSE(RankResultFromJson(broken));
}

TEST(RankResult, RejectsTamperedHistogramsAndSchemas) {
  std::mt19937_64 rng(22);
  nlohmann::json j = RankResultToJson(MakeRank(0, 1, rng, nullptr));
  nlohmann::json wrong_count = j;
  wrong_count["totals"]["connect_ns"]["count"] = 1;
  EXPECT_FALSE(RankResultFromJson(wrong_count));
  nlohmann::json wrong_edge = j;
  wrong_edge["totals"]["connect_ns"]["buckets"][0][2] = 1;
  EXPECT_FALSE(RankResultFromJson(wrong_edge));
  nlohmann::json wrong_schema = j;
  wrong_schema["schema"] = "tcpmax.load/2";
  EXPECT_FALSE(RankResultFromJson(wrong_schema));
  nlohmann::json bad_id = j;
  bad_id["run_id"] = "../x";
  EXPECT_FALSE(RankResultFromJson(bad_id));
}

}  // namespace
}  // namespace tcpmax::dist

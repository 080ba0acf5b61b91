#include "dist/partition.h"

#include <random>
#include <set>

#include <gtest/gtest.h>

#include "load/source_plan.h"

namespace tcpmax::dist {
namespace {

std::vector<Endpoint> Targets(int n) {
  std::vector<Endpoint> out;
  for (int i = 0; i < n; ++i) {
    auto t = ParseEndpointSpec("127.0.0.1:" + std::to_string(7000 + i), false);
    out.push_back((*t)[0]);
  }
  return out;
}

std::vector<Cidr> Sources(const std::string& spec) { return *ParseCidrs(spec); }

// Every connection, every source address and every target lands in some
// rank; connections exactly once; no (source, target) pair in two ranks.
void CheckPartition(uint64_t connections, const std::vector<Endpoint>& targets, const std::vector<Cidr>& sources,
                    int size, bool local = false) {
  SCOPED_TRACE("size " + std::to_string(size) + " connections " + std::to_string(connections) + " targets " +
               std::to_string(targets.size()));
  uint64_t total_sources = load::SourcePlan::UsableCount(sources);
  std::set<std::pair<uint64_t, size_t>> pairs;
  std::set<uint64_t> sources_seen;
  std::set<size_t> targets_seen;
  uint64_t next_first = 0, max_c = 0, min_c = UINT64_MAX;
  for (int r = 0; r < size; ++r) {
    // Shared sources over every rank, or one machine's own sources over the
    // ranks on it (the same grid; connections still split over `size`).
    auto s = local ? PartitionLoad(connections, targets, sources, false, r + 1000, size + 1000, r, size)
                   : PartitionLoad(connections, targets, sources, true, r, size);
    ASSERT_TRUE(s) << s.error().ToString();
    if (!local) {
      EXPECT_EQ(s->first_connection, next_first);
    }
    next_first += s->connections;
    max_c = std::max(max_c, s->connections);
    min_c = std::min(min_c, s->connections);
    ASSERT_FALSE(s->targets.empty());
    ASSERT_GT(s->sources.count, 0u);
    ASSERT_LE(s->sources.first + s->sources.count, total_sources);
    // The rank's SourcePlan must accept its window.
    auto plan = load::SourcePlan::Make(sources, s->targets, std::max<uint64_t>(1, s->connections), s->sources);
    ASSERT_TRUE(plan) << plan.error().ToString();
    // Its connections use addresses of its window only.
    auto whole = load::SourcePlan::Make(sources, {targets[0]}, total_sources);
    std::set<std::string> window;
    for (uint64_t a = s->sources.first; a < s->sources.first + s->sources.count; ++a) window.insert(whole->SourceOf(a).ToString());
    for (uint64_t i = 0; i < std::min<uint64_t>(s->connections, 600); ++i) {
      ASSERT_TRUE(window.count(plan->SourceOf(i).ToString())) << "connection " << i << " leaves the window";
    }
    for (uint64_t a = s->sources.first; a < s->sources.first + s->sources.count; ++a) {
      sources_seen.insert(a);
      for (const Endpoint& t : s->targets) {
        size_t ti = static_cast<size_t>(t.port - 7000);
        targets_seen.insert(ti);
        EXPECT_TRUE(pairs.insert({a, ti}).second) << "pair (" << a << ", " << ti << ") in two ranks";
      }
    }
  }
  if (!local) {
    EXPECT_EQ(next_first, connections);
    EXPECT_LE(max_c - min_c, 1u);
  }
  EXPECT_EQ(sources_seen.size(), total_sources);
  EXPECT_EQ(targets_seen.size(), targets.size());
}

TEST(Partition, PropertySizes1To64) {
  std::mt19937_64 rng(13);
  const std::vector<std::string> source_specs = {"127.0.0.1", "127.0.1.0/30,127.0.2.7", "127.0.0.0/26",
                                                 "127.0.0.0/24,127.9.0.0/31"};
  for (int size = 1; size <= 64; ++size) {
    for (const std::string& spec : source_specs) {
      auto sources = Sources(spec);
      uint64_t s_count = load::SourcePlan::UsableCount(sources);
      // Enough targets for the grid: ceil(size / min(sources, size)).
      uint64_t a = std::min<uint64_t>(s_count, static_cast<uint64_t>(size));
      int need = static_cast<int>((static_cast<uint64_t>(size) + a - 1) / a);
      int targets = need + static_cast<int>(rng() % 3);
      uint64_t connections = static_cast<uint64_t>(size) * (1 + rng() % 1000) + rng() % static_cast<uint64_t>(size);
      CheckPartition(connections, Targets(targets), sources, size);
      CheckPartition(connections, Targets(targets), sources, size, /*local=*/true);
    }
  }
}

TEST(Partition, UnevenTotalsSpreadTheRemainder) {
  auto sources = Sources("127.0.0.0/24");
  for (int r = 0; r < 4; ++r) {
    auto s = PartitionLoad(10, Targets(1), sources, true, r, 4);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->connections, r < 2 ? 3u : 2u);
  }
}

TEST(Partition, TooFewPairsIsAnError) {
  auto s = PartitionLoad(100, Targets(1), Sources("127.0.0.1,127.0.0.2"), true, 0, 3);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().context.find("3 ranks need 3 distinct (source, target) pairs"), std::string::npos);
}

TEST(Partition, OwnSourcesKeepEverythingWithOneRankPerMachine) {
  auto sources = Sources("198.18.1.1");
  for (int r = 0; r < 4; ++r) {
    auto s = PartitionLoad(100'001, Targets(2), sources, false, r, 4);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->targets.size(), 2u);
    EXPECT_EQ(s->sources.first, 0u);
    EXPECT_EQ(s->sources.count, 1u);
    EXPECT_EQ(s->connections, r == 0 ? 25'001u : 25'000u);
  }
}

TEST(Partition, RanksOnOneMachineSplitItsOwnSources) {
  // 8 ranks, 2 per machine; each machine has 10.0.0.1-4 of its own (the
  // same numbers on every machine: they are different machines).
  auto sources = Sources("10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4");
  for (int rank = 0; rank < 8; ++rank) {
    int local = rank % 2;
    auto s = PartitionLoad(8000, Targets(1), sources, false, rank, 8, local, 2);
    ASSERT_TRUE(s) << s.error().ToString();
    EXPECT_EQ(s->connections, 1000u);  // connections still split over all 8
    EXPECT_EQ(s->sources.first, local == 0 ? 0u : 2u);
    EXPECT_EQ(s->sources.count, 2u);
  }
  // Too many ranks on a machine for its pairs.
  auto s = PartitionLoad(100, Targets(1), Sources("10.0.0.1"), false, 0, 4, 0, 2);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().context.find("2 ranks on this machine need 2 distinct"), std::string::npos);
}

TEST(Partition, RankNotBelowSize) {
  EXPECT_FALSE(PartitionLoad(10, Targets(1), Sources("127.0.0.0/24"), true, 4, 4));
}

}  // namespace
}  // namespace tcpmax::dist

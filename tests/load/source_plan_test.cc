#include "load/source_plan.h"

#include <map>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

namespace tcpmax::load {
namespace {

std::vector<Cidr> Cidrs(const char* text) { return *ParseCidrs(text); }
std::vector<Endpoint> Targets(const char* text) { return *ParseEndpoints(text); }

TEST(SourcePlan, SpreadsEvenlyOverPairs) {
  auto plan = SourcePlan::Make(Cidrs("127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5"),
                               Targets("127.0.0.1:7000,127.0.0.1:7001"), 50'000);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->source_count(), 4u);
  EXPECT_EQ(plan->pair_count(), 8u);
  EXPECT_EQ(plan->max_per_pair(), 6250u);
  std::map<std::pair<std::string, std::string>, int> per_pair;
  for (uint64_t i = 0; i < 50'000; ++i) ++per_pair[{plan->SourceOf(i).ToString(), plan->TargetOf(i).ToString()}];
  ASSERT_EQ(per_pair.size(), 8u);
  for (const auto& [pair, n] : per_pair) EXPECT_EQ(n, 6250) << pair.first << " " << pair.second;
}

TEST(SourcePlan, ExplicitPortsAreUniquePerTupleAndSharedAcrossTargets) {
  auto plan = SourcePlan::Make(Cidrs("127.1.0.1,127.1.0.2,127.1.0.3"),
                               Targets("127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"), 12'000);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->PortOf(0), 0) << "the kernel picks until explicit ports are asked for";
  plan->UseExplicitPorts(1024, 64512);
  std::set<std::tuple<std::string, uint16_t, std::string>> tuples;
  std::map<std::pair<std::string, uint16_t>, int> per_bind;
  for (uint64_t i = 0; i < 12'000; ++i) {
    uint16_t port = plan->PortOf(i);
    ASSERT_GE(port, 1024);
    ASSERT_LT(port, 1024 + 1000);  // 1,000 per pair: ports LO..LO+999
    tuples.insert({plan->SourceOf(i).ToString(), port, plan->TargetOf(i).ToString()});
    ++per_bind[{plan->SourceOf(i).ToString(), port}];
  }
  EXPECT_EQ(tuples.size(), 12'000u) << "two connections on one 4-tuple";
  // Every (source, port) serves each of the 4 targets once: one bind bucket per 4 sockets.
  EXPECT_EQ(per_bind.size(), 3'000u);
  for (const auto& [bind, n] : per_bind) EXPECT_EQ(n, 4) << bind.first << ":" << bind.second;
}

TEST(SourcePlan, UsesOnlyAsManySourcesAsUseful) {
  auto plan = SourcePlan::Make(Cidrs("127.0.0.0/16"), Targets("127.0.0.1:7000"), 100);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->source_count(), 100u);
  EXPECT_EQ(plan->max_per_pair(), 1u);
  EXPECT_EQ(plan->SourceOf(0).ToString(), "127.0.0.1");  // network address skipped
  EXPECT_EQ(plan->SourceOf(99).ToString(), "127.0.0.100");
}

TEST(SourcePlan, WalksSeveralRangesAndSkipsBroadcast) {
  auto plan = SourcePlan::Make(Cidrs("127.1.0.0/30,127.2.0.9"), Targets("127.0.0.1:7000"), 1000);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->source_count(), 3u);  // .1, .2 of the /30, then 127.2.0.9
  std::set<std::string> seen;
  for (uint64_t i = 0; i < 3; ++i) seen.insert(plan->SourceOf(i).ToString());
  EXPECT_EQ(seen, (std::set<std::string>{"127.1.0.1", "127.1.0.2", "127.2.0.9"}));
  EXPECT_EQ(plan->SourceOf(3).ToString(), plan->SourceOf(0).ToString());
}

TEST(SourcePlan, RejectsMixedFamilies) {
  EXPECT_FALSE(SourcePlan::Make(Cidrs("::1"), Targets("127.0.0.1:7000"), 10).has_value());
  EXPECT_FALSE(SourcePlan::Make(Cidrs("127.0.0.1"), Targets("127.0.0.1:7000,[::1]:7000"), 10).has_value());
  EXPECT_FALSE(SourcePlan::Make(Cidrs("127.0.0.1"), {}, 10).has_value());
}

TEST(SourcePlan, TargetSockaddrMatchesTarget) {
  auto plan = SourcePlan::Make(Cidrs("127.0.0.1"), Targets("127.0.0.1:7000,127.0.0.1:7001"), 10);
  ASSERT_TRUE(plan.has_value());
  socklen_t len = 0;
  const sockaddr* sa = plan->TargetAddr(3, &len);
  EXPECT_EQ(Endpoint::FromSockaddr(sa).ToString(), "127.0.0.1:7001");
  EXPECT_EQ(len, sizeof(sockaddr_in));
}

TEST(DefaultSources, LoopbackRanges) {
  auto v4 = DefaultSources(*ParseEndpoint("127.0.0.1:7000"));
  ASSERT_TRUE(v4.has_value());
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].ToString(), "127.0.0.0/16");
  auto v6 = DefaultSources(*ParseEndpoint("[::1]:7000"));
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ((*v6)[0].ToString(), "::1/128");
}

}  // namespace
}  // namespace tcpmax::load

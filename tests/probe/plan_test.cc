#include "probe/plan.h"

#include <gtest/gtest.h>

#include "core/engine.h"

namespace tcpmax::probe {
namespace {

PlanInput ThisBox(uint64_t target, bool uring) {
  PlanInput in;
  in.target = target;
  in.nofile_hard = 20000;
  in.ephemeral_ports = 60999 - 32768 + 1;
  in.uring_direct = uring;
  in.cores = 2;
  return in;
}

// Every (source, destination) pair stays at or under the pair cap, and the
// pairs cover the target.
void ExpectPairsCover(const Plan& p, uint64_t pair_cap) {
  EXPECT_LE(p.per_pair, pair_cap);
  EXPECT_GE(uint64_t{p.ports} * p.sources * p.per_pair, p.target);
  EXPECT_EQ(p.source_range.Size(), p.sources);
  EXPECT_EQ(p.ports % p.serve_processes, 0u);
}

TEST(MakePlan, AutoPicksEpollShardsEvenWhenUringWorks) {
  auto p = MakePlan(ThisBox(100'000, true));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->serve_engine, Engine::kEpoll);
  EXPECT_EQ(p->serve_processes, 6u);
}

TEST(MakePlan, AutoPicksUringFromAMillionWhereItWorks) {
  auto p = MakePlan(ThisBox(kUringAutoTarget, true));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->serve_engine, Engine::kUring);
  EXPECT_EQ(p->load_engine, Engine::kUring);
  EXPECT_EQ(p->serve_processes, 1u);
  auto e = MakePlan(ThisBox(kUringAutoTarget, false));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->serve_engine, Engine::kEpoll);
  EXPECT_GT(e->serve_processes, 50u);
}

TEST(MakePlan, QuickDefaultWithUring) {
  PlanInput in = ThisBox(100'000, true);
  in.engine = Engine::kUring;
  auto p = MakePlan(in);
  ASSERT_TRUE(p) << p.error().ToString();
  ExpectPairsCover(*p, 10'000);
  EXPECT_EQ(p->serve_engine, Engine::kUring);
  EXPECT_EQ(p->serve_processes, 1u);
  EXPECT_EQ(p->load_engine, Engine::kUring);
  EXPECT_EQ(p->load_processes, 1u);
  EXPECT_EQ(p->per_process_fds, 0u);  // direct descriptors on both sides
  EXPECT_EQ(p->TargetSpec(), "127.0.0.1:7000-7009");
  EXPECT_EQ(p->ListenSpec(0), "127.0.0.1:7000-7009");
  EXPECT_EQ(p->SourceSpec(), "127.1.0.0/32");
}

TEST(MakePlan, EpollServeSplitsPortsAcrossProcesses) {
  auto p = MakePlan(ThisBox(100'000, false));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->serve_engine, Engine::kEpoll);
  EXPECT_EQ(p->serve_processes, 6u);
  ExpectPairsCover(*p, 10'000);
  EXPECT_LE(p->per_process_fds, 19'900u);
  // Each serve process owns its own ports: groups do not overlap.
  EXPECT_EQ(p->ports, 12u);
  EXPECT_EQ(p->ListenSpec(0), "127.0.0.1:7000-7001");
  EXPECT_EQ(p->ListenSpec(5), "127.0.0.1:7010-7011");
}

TEST(MakePlan, ThreeMillionSpreadsOverSourcesAndPorts) {
  auto p = MakePlan(ThisBox(3'000'000, false));  // epoll shards: no io_uring here
  ASSERT_TRUE(p);
  ExpectPairsCover(*p, 10'000);
  EXPECT_EQ(p->serve_processes, 151u);
  EXPECT_EQ(p->ports, 151u);  // one port per serve process
  EXPECT_EQ(p->sources, 32u);  // 19 needed, rounded up to a CIDR block
  EXPECT_EQ(p->SourceSpec(), "127.1.0.0/27");
  EXPECT_EQ(p->load_processes, 151u);
  EXPECT_LE(p->per_process_fds, 19'900u);
}

TEST(MakePlan, NarrowPortRangeLowersThePairCap) {
  PlanInput in = ThisBox(50'000, true);
  in.ephemeral_ports = 1000;  // e.g. a container with a tiny ip_local_port_range
  auto p = MakePlan(in);
  ASSERT_TRUE(p);
  ExpectPairsCover(*p, 900);
}

TEST(MakePlan, StockDistroRlimit) {
  PlanInput in = ThisBox(10'000, false);
  in.nofile_hard = 4096;
  auto p = MakePlan(in);
  ASSERT_TRUE(p);
  EXPECT_LE(p->per_process_fds, 4096u - 100);
  EXPECT_EQ(p->load_processes, 3u);
  EXPECT_EQ(p->serve_processes, 3u);
}

TEST(MakePlan, RejectsImpossibleInput) {
  EXPECT_FALSE(MakePlan(ThisBox(0, true)));
  PlanInput tiny = ThisBox(10, true);
  tiny.nofile_hard = 50;
  EXPECT_FALSE(MakePlan(tiny));
  PlanInput no_uring = ThisBox(10, false);
  no_uring.engine = Engine::kUring;
  auto r = MakePlan(no_uring);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("io_uring"), std::string::npos);
}

TEST(MakePlan, RefusesMoreProcessesThanItRuns) {
  // 20M at 19,900 descriptors a process is 1,006 epoll processes per side.
  auto r = MakePlan(ThisBox(20'000'000, false));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("1006 processes per side"), std::string::npos) << r.error().context;
  EXPECT_NE(r.error().context.find("--engine uring"), std::string::npos);
  // The same target with io_uring direct descriptors needs one process per side.
  PlanInput uring = ThisBox(20'000'000, true);
  uring.engine = Engine::kUring;
  EXPECT_TRUE(MakePlan(uring)) << "uring needs no more processes";
}

TEST(MakePlan, EndpointsMatchTheSpecs) {
  auto p = MakePlan(ThisBox(100'000, false));
  ASSERT_TRUE(p);
  std::vector<Endpoint> all = p->Targets();
  ASSERT_EQ(all.size(), p->ports);
  EXPECT_EQ(all.front().ToString(), "127.0.0.1:" + std::to_string(p->first_port));
  size_t listened = 0;
  for (unsigned g = 0; g < p->serve_processes; ++g) listened += p->ListenEndpoints(g).size();
  EXPECT_EQ(listened, all.size()) << "every server port has exactly one serve shard";
  EXPECT_EQ(p->ListenEndpoints(p->serve_processes - 1).back(), all.back());
}

TEST(ParseEngine, Names) {
  EXPECT_EQ(*ParseEngine("uring"), Engine::kUring);
  EXPECT_EQ(*ParseEngine("epoll"), Engine::kEpoll);
  EXPECT_EQ(*ParseEngine("auto"), Engine::kAuto);
  EXPECT_FALSE(ParseEngine("select"));
}

}  // namespace
}  // namespace tcpmax::probe

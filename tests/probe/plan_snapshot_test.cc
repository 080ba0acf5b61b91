// The planner on recorded snapshots (tests/data/snapshots): the facts the
// probe reads from a box, and the plan it makes from them.
#include <gtest/gtest.h>

#include "probe/plan.h"
#include "probe/memory_guard.h"
#include "probe/runner.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::probe {
namespace {

BoxFacts Facts(const std::string& name) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/" + name);
  EXPECT_TRUE(reader) << name;
  auto facts = ReadBoxFacts(*reader);
  EXPECT_TRUE(facts) << name;
  return *facts;
}

Plan PlanFor(const BoxFacts& b, uint64_t target, bool uring) {
  PlanInput in;
  in.target = target;
  in.nofile_hard = b.nofile_hard;
  in.ephemeral_ports = b.ephemeral_ports;
  in.uring_direct = uring;
  in.cores = b.cores;
  auto p = MakePlan(in);
  EXPECT_TRUE(p) << p.error().ToString();
  return *p;
}

TEST(PlanOnSnapshot, ThisBoxHardLimit20000) {
  BoxFacts b = Facts("this-box");
  EXPECT_EQ(b.nofile_hard, 20000u);
  EXPECT_EQ(b.ephemeral_ports, 28232u);
  EXPECT_EQ(b.mem_total, 24684084ull * 1024);
  Plan p = PlanFor(b, 100'000, false);
  EXPECT_EQ(p.load_processes, 6u);
  EXPECT_EQ(p.serve_processes, 6u);
  EXPECT_LE(p.per_process_fds, 19'900u);
  EXPECT_LE(p.per_pair, 10'000u);
}

TEST(PlanOnSnapshot, ThisBoxMaxModeIsSizedFromMemory) {
  BoxFacts b = Facts("this-box");
  uint64_t reserve = b.mem_total / 10;
  uint64_t want = static_cast<uint64_t>(double(b.mem_available - reserve) / 8000 * 1.25);
  uint64_t t = MaxModeTarget(b, 10, 8000);
  EXPECT_EQ(t, want);
  EXPECT_GT(t, 3'000'000u);  // the 3M target fits this box's plan
  Plan p = PlanFor(b, t, false);  // no io_uring: epoll shards under the fd limit
  EXPECT_LE(p.per_pair, 10'000u);
  EXPECT_GT(p.serve_processes, 150u);
  EXPECT_LE(p.per_process_fds, 19'900u);
  // With io_uring direct descriptors auto takes one process per side at this scale.
  Plan u = PlanFor(b, t, true);
  EXPECT_EQ(u.serve_engine, Engine::kUring);
  EXPECT_EQ(u.serve_processes, 1u);
  EXPECT_EQ(u.load_processes, 1u);
  EXPECT_LE(u.per_pair, 10'000u);
}

TEST(PlanOnSnapshot, StockDistroNeedsManyProcesses) {
  BoxFacts b = Facts("stock-distro");
  EXPECT_EQ(b.nofile_hard, 4096u);
  Plan p = PlanFor(b, 100'000, false);
  EXPECT_EQ(p.load_processes, 26u);  // ceil(100,000 / (4,096 - 100))
  EXPECT_EQ(p.serve_processes, 26u);
  EXPECT_EQ(p.ports % 26, 0u);
  EXPECT_LE(p.per_process_fds, 3'996u);
}

TEST(PlanOnSnapshot, LargeRlimitBoxUsesOneProcessEach) {
  BoxFacts b = Facts("conntrack-small");
  EXPECT_EQ(b.nofile_hard, 1048576u);
  Plan p = PlanFor(b, 500'000, false);
  EXPECT_EQ(p.load_processes, 1u);
  EXPECT_EQ(p.serve_processes, 1u);
  EXPECT_EQ(p.ports, 16u);
  EXPECT_EQ(p.sources, 4u);  // 50 pairs of 10,000 over 16 ports: 4 sources
}

}  // namespace
}  // namespace tcpmax::probe

namespace tcpmax::probe {
namespace {

TEST(UsableMemory, FreeAndPageCacheNotTheSlabGrowth) {
  constexpr uint64_t kG = 1ull << 30;
  MemoryReading start;
  start.free = 20 * kG;
  start.file_pages = 1 * kG;
  start.reclaimable = kG / 2;
  MemoryReading now = start;
  // The climb's sockets grew reclaimable slab by 5 GiB (pinned dentries and
  // inodes) and took it from free memory: none of it counts as usable.
  now.free = 15 * kG;
  now.reclaimable = 5 * kG + kG / 2;
  EXPECT_EQ(UsableMemory(start, now), 15 * kG + 1 * kG + kG / 2);
  // Reclaimable slab that shrank below the start counts only as what is left.
  now.reclaimable = kG / 4;
  EXPECT_EQ(UsableMemory(start, now), 15 * kG + 1 * kG + kG / 4);
}

}  // namespace
}  // namespace tcpmax::probe



// The limits model on four recorded snapshots (tests/data/snapshots/): this
// box, a stock distribution, a container with a cgroup memory limit, and a
// box with conntrack loaded and a small nf_conntrack_max. Each test asserts
// the binding limit and the ceiling numbers, computed by hand from the files.
#include <gtest/gtest.h>

#include "limits/ceiling.h"
#include "limits/snapshot.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::limits {
namespace {

Snapshot Load(const std::string& name) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/" + name);
  EXPECT_TRUE(reader) << reader.error().ToString();
  return ReadSnapshot(*reader);
}

const Finding& Row(const Direction& d, std::string_view id) {
  const Finding* f = d.Find(id);
  EXPECT_NE(f, nullptr) << id;
  static const Finding kMissing;
  return f ? *f : kMissing;
}

bool HasRemedy(const Finding& f, std::string_view text) {
  for (const std::string& r : f.remedies) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

// This box: hard RLIMIT_NOFILE 20000 without CAP_SYS_RESOURCE; root with
// CAP_SYS_ADMIN, so fs.file-max is passed and memory binds the box.
TEST(CeilingThisBox, PerProcessFileLimitBindsWithBothRemedies) {
  Snapshot s = Load("this-box");
  ASSERT_TRUE(s.unknown.empty()) << s.unknown.begin()->first;
  Ceiling c = ComputeCeiling(s, Scenario{});
  const Direction& in = c.inbound;
  EXPECT_EQ(in.per_process.binding, "rlimit_nofile_hard");
  EXPECT_EQ(in.per_process.ceiling, 20000u - 5);  // stdio, one listener, epoll
  EXPECT_EQ(in.total.binding, "rlimit_nofile_hard");
  EXPECT_EQ(in.total.ceiling, 19995u);
  const Finding& hard = Row(in, "rlimit_nofile_hard");
  EXPECT_NE(hard.note.find("lacks CAP_SYS_RESOURCE"), std::string::npos);
  EXPECT_TRUE(HasRemedy(hard, "io_uring direct descriptors"));
  EXPECT_TRUE(HasRemedy(hard, "more processes"));
  EXPECT_FALSE(HasRemedy(hard, "ulimit -Hn"));  // not raisable here
  EXPECT_FALSE(Row(in, "fs.nr_open").allows);   // out of reach without CAP_SYS_RESOURCE
}

TEST(CeilingThisBox, WholeBoxFromMemoryWithArithmetic) {
  Ceiling c = ComputeCeiling(Load("this-box"), Scenario{});
  // Slab bytes per object on this kernel (pages x 4096 / objects per slab):
  // TCP 8x4096/13 -> 2521, sock_inode_cache 4x4096/19 -> 863, filp 4096/21 ->
  // 196, dentry 196, eventpoll_epi 128.
  EXPECT_EQ(c.memory.source, "slabinfo");
  EXPECT_EQ(c.memory.per_end, 3961u);
  EXPECT_EQ(c.memory.items[0].objsize, 2368u);
  EXPECT_EQ(c.inbound.box.binding, "memory");
  EXPECT_EQ(c.inbound.box.ceiling, uint64_t(23366336) * 1024 / 3961);
  const Finding& mem = Row(c.inbound, "memory");
  EXPECT_NE(mem.arithmetic.find("/ 3,961 B per connection"), std::string::npos) << mem.arithmetic;
  // file-max is passed by CAP_SYS_ADMIN, and what it would allow is kept.
  const Finding& fmax = Row(c.inbound, "fs.file-max");
  EXPECT_FALSE(fmax.allows);
  EXPECT_EQ(fmax.allows_unprivileged, 2466170u - 130718);
  // epoll watches are a per-user limit, below memory.
  EXPECT_EQ(c.inbound.per_user.binding, "fs.epoll.max_user_watches");
  EXPECT_EQ(c.inbound.per_user.ceiling, 5491511u);
  EXPECT_EQ(c.inbound.total.next, "fs.epoll.max_user_watches");
}

TEST(CeilingThisBox, WithoutCapSysAdminFileMaxBindsTheBox) {
  Snapshot s = Load("this-box");
  ASSERT_TRUE(ApplySetting(s, "cap.sys_admin", "0"));
  Ceiling c = ComputeCeiling(s, Scenario{});
  EXPECT_EQ(c.inbound.box.binding, "fs.file-max");
  EXPECT_EQ(c.inbound.box.ceiling, 2466170u - 130718);
}

TEST(CeilingThisBox, LoopbackCountsBothEnds) {
  Scenario sc;
  sc.loopback = true;
  sc.epoll = false;
  Ceiling c = ComputeCeiling(Load("this-box"), sc);
  EXPECT_EQ(c.memory.per_end, 3833u);
  EXPECT_EQ(c.bytes_per_connection, 7666u);  // measured here: 8.4-8.7 KB of Slab per loopback connection
  EXPECT_EQ(c.inbound.box.ceiling, uint64_t(23366336) * 1024 / 7666);
  // tcp_tw_reuse = 2 applies to loopback: a port is reusable after 1 s.
  EXPECT_TRUE(c.rate.reuse_applies);
  EXPECT_DOUBLE_EQ(c.rate.per_second, 28232.0);
}

TEST(CeilingThisBox, OutboundPortsWithAndWithoutBindNoPort) {
  Scenario sc;
  sc.source_ips = 100;
  sc.destinations = 10;
  sc.processes = 1000;
  Ceiling c = ComputeCeiling(Load("this-box"), sc);
  EXPECT_EQ(c.tuple.ephemeral_ports, 28232u);
  EXPECT_EQ(c.outbound_with_bind_no_port, std::min<uint64_t>(28232u * 100 * 10, c.inbound.box.ceiling.value()));
  EXPECT_EQ(c.outbound_without_bind_no_port, 28232u * 100);
  EXPECT_EQ(c.tuple.loopback_sources, 16777214u);
  // Without epoll and with 1000 processes the box binds outbound: memory.
  EXPECT_DOUBLE_EQ(c.rate.per_second, 28232.0 * 100 / 60);
}

// Stock distribution, ordinary user: soft 1024 binds, hard 4096 next;
// slabinfo unreadable, so the documented fallback sizes are used.
TEST(CeilingStockDistro, SoftLimitBindsAndFallbackMemory) {
  Snapshot s = Load("stock-distro");
  EXPECT_TRUE(s.unknown.count("slabinfo"));
  Ceiling c = ComputeCeiling(s, Scenario{});
  EXPECT_EQ(c.memory.source, "fallback");
  EXPECT_EQ(c.memory.per_end, 2521u + 863 + 196 + 196 + 128);
  EXPECT_EQ(c.inbound.total.binding, "rlimit_nofile_soft");
  EXPECT_EQ(c.inbound.total.ceiling, 1019u);
  EXPECT_EQ(c.inbound.total.next, "rlimit_nofile_hard");
  EXPECT_EQ(c.inbound.total.next_ceiling, 4091u);
  EXPECT_TRUE(HasRemedy(Row(c.inbound, "rlimit_nofile_soft"), "ulimit -n 4096"));
  EXPECT_EQ(c.inbound.box.binding, "memory");
  EXPECT_EQ(c.inbound.box.ceiling, uint64_t(6512300) * 1024 / 3904);
  EXPECT_FALSE(Row(c.inbound, "net.netfilter.nf_conntrack_max").allows);  // not loaded
  // Outbound: one source ip, one destination: 28,232 ports, 60 s TIME_WAIT.
  EXPECT_EQ(c.outbound.box.binding, "net.ipv4.ip_local_port_range");
  EXPECT_EQ(c.outbound.box.ceiling, 28232u);
  EXPECT_FALSE(c.rate.reuse_applies);
  EXPECT_NEAR(c.rate.per_second, 28232.0 / 60, 1e-9);
}

TEST(CeilingStockDistro, ThreadPerConnectionBindsOnPids) {
  Scenario sc;
  sc.thread_per_connection = true;
  sc.processes = 100;
  Ceiling c = ComputeCeiling(Load("stock-distro"), sc);
  EXPECT_EQ(c.inbound.total.binding, "cgroup_pids");
  EXPECT_EQ(c.inbound.total.ceiling, 21139u);
}

// Container: cgroup v2 memory.max 256 MiB with 50 MiB used binds the box.
TEST(CeilingContainer, CgroupMemoryBinds) {
  Ceiling c = ComputeCeiling(Load("container-cgroup"), Scenario{});
  // 8x4096/14 -> 2341, 4x4096/21 -> 781, 4096/16 = 256, 4096/21 -> 196, 128.
  uint64_t per_end = 2341 + 781 + 256 + 196 + 128;
  EXPECT_EQ(c.memory.per_end, per_end);
  EXPECT_EQ(c.inbound.total.binding, "cgroup_memory");
  EXPECT_EQ(c.inbound.total.ceiling, (268435456u - 52428800u) / per_end);
  EXPECT_EQ(c.inbound.total.next, "net.netfilter.nf_conntrack_max");
  EXPECT_EQ(c.inbound.total.next_ceiling, 131072u - 3);
  EXPECT_EQ(c.inbound.per_process.ceiling, 1048576u - 5);
  const Finding& cg = Row(c.inbound, "cgroup_memory");
  EXPECT_TRUE(HasRemedy(cg, "/sys/fs/cgroup/memory.max"));
  // No CAP_SYS_ADMIN in a container: file-max counts (and is huge).
  EXPECT_TRUE(Row(c.inbound, "fs.file-max").allows.has_value());
}

// conntrack loaded with nf_conntrack_max 65536, 4,210 entries in use.
TEST(CeilingConntrack, SmallConntrackTableBinds) {
  Ceiling c = ComputeCeiling(Load("conntrack-small"), Scenario{});
  EXPECT_EQ(c.inbound.total.binding, "net.netfilter.nf_conntrack_max");
  EXPECT_EQ(c.inbound.total.ceiling, 65536u - 4210);
  EXPECT_EQ(c.inbound.box.ceiling, 65536u - 4210);
  const Finding& ct = Row(c.inbound, "net.netfilter.nf_conntrack_max");
  EXPECT_TRUE(HasRemedy(ct, "sysctl -w net.netfilter.nf_conntrack_max="));
  EXPECT_TRUE(HasRemedy(ct, "--notrack"));
  // Root with CAP_SYS_RESOURCE: the hard limit is raisable up to fs.nr_open.
  EXPECT_TRUE(Row(c.inbound, "fs.nr_open").allows.has_value());
  EXPECT_TRUE(HasRemedy(Row(c.inbound, "rlimit_nofile_hard"), "ulimit -Hn"));
}

TEST(CeilingConntrack, RaisingConntrackMovesTheBindingToTheNextLimit) {
  Snapshot s = Load("conntrack-small");
  ASSERT_TRUE(ApplySetting(s, "net.netfilter.nf_conntrack_max", "4M"));
  ASSERT_TRUE(ApplySetting(s, "fs.nr_open", "8M"));
  ASSERT_TRUE(ApplySetting(s, "nofile", "8M"));
  Ceiling c = ComputeCeiling(s, Scenario{});
  // Next: fs.file-max is passed (root); memory 14 GiB / 3,634 B; epoll 3,657,009.
  EXPECT_EQ(c.inbound.total.binding, "fs.epoll.max_user_watches");
  EXPECT_EQ(c.inbound.total.ceiling, 3657009u);
  EXPECT_EQ(c.inbound.total.next, "net.netfilter.nf_conntrack_max");
}

TEST(CeilingNat, AwsCapsEachDestinationAt55000) {
  Scenario sc;
  sc.nat = FindNatProfile("aws");
  sc.source_ips = 4;
  sc.destinations = 2;
  sc.processes = 100;
  Snapshot s = Load("conntrack-small");
  ASSERT_TRUE(ApplySetting(s, "net.netfilter.nf_conntrack_max", "16M"));
  Ceiling c = ComputeCeiling(s, sc);
  EXPECT_EQ(c.outbound.box.binding, "nat_aws");
  EXPECT_EQ(c.outbound.box.ceiling, 110000u);
  sc.nat = FindNatProfile("gcp");
  EXPECT_EQ(ComputeCeiling(s, sc).outbound.box.ceiling, 128u);  // 64 ports per VM x 2 destinations
  EXPECT_FALSE(FindNatProfile("oracle"));
}

}  // namespace
}  // namespace tcpmax::limits

// Snapshot reading with missing files, and `--set` what-if overrides.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "limits/ceiling.h"
#include "limits/snapshot.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::limits {
namespace {

TEST(Snapshot, MissingReadingsAreUnknownAndTheRestIsComputed) {
  char tmpl[] = "/tmp/tcpmax-limits-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::ofstream(dir + "/process") << "rlimit_nofile 4096 4096\n";
  std::filesystem::create_directories(dir + "/proc/sys/fs");
  std::ofstream(dir + "/proc/sys/fs/file-max") << "100000\n";
  auto reader = sys::SnapshotReader::Open(dir);
  ASSERT_TRUE(reader);
  Snapshot s = ReadSnapshot(*reader);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(s.unknown.count("meminfo"));
  EXPECT_TRUE(s.unknown.count("capabilities"));
  EXPECT_FALSE(s.conntrack_loaded);  // absent conntrack is "not loaded", not unknown
  EXPECT_FALSE(s.unknown.count("net.netfilter.nf_conntrack_max"));
  Ceiling c = ComputeCeiling(s, Scenario{});
  EXPECT_EQ(c.inbound.per_process.ceiling, 4091u);
  EXPECT_EQ(c.inbound.box.binding, "fs.file-max");  // capabilities unknown: file-max counts
  EXPECT_EQ(c.inbound.box.ceiling, 100000u);
  EXPECT_FALSE(c.inbound.Find("memory")->known);
  EXPECT_TRUE(c.unknown.count("meminfo"));  // carried to the renderers, which list them
}

TEST(Snapshot, ParseSettingNeedsKeyAndEquals) {
  auto kv = ParseSetting("fs.file-max = 10M");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->first, "fs.file-max");
  EXPECT_EQ(kv->second, "10M");
  EXPECT_FALSE(ParseSetting("fs.file-max"));
  EXPECT_FALSE(ParseSetting("=3"));
}

TEST(Snapshot, ApplySettingChangesReadings) {
  Snapshot s;
  ASSERT_TRUE(ApplySetting(s, "fs.file-max", "10M"));
  EXPECT_EQ(s.Sysctl("fs.file-max"), 10000000u);
  ASSERT_TRUE(ApplySetting(s, "net.ipv4.ip_local_port_range", "1024 65535"));
  EXPECT_EQ(s.Sysctl("net.ipv4.ip_local_port_range", 1), 65535u);
  ASSERT_TRUE(ApplySetting(s, "nofile", "1M"));
  ASSERT_TRUE(ApplySetting(s, "nofile.soft", "1024"));
  EXPECT_EQ(s.nofile->soft, 1024u);
  EXPECT_EQ(s.nofile->hard, 1000000u);
  ASSERT_TRUE(ApplySetting(s, "mem.available", "8G"));
  EXPECT_EQ(s.mem_available, uint64_t(8) << 30);
  ASSERT_TRUE(ApplySetting(s, "cgroup.memory.max", "512M"));
  EXPECT_EQ(s.cgroup->memory_max, uint64_t(512) << 20);
  ASSERT_TRUE(ApplySetting(s, "slab.TCP", "2000"));
  EXPECT_EQ(s.slabinfo->at("TCP").objsize, 2000u);
  ASSERT_TRUE(ApplySetting(s, "cap.sys_resource", "1"));
  EXPECT_EQ(s.HasCapability(24), true);
}

TEST(Snapshot, ApplySettingRejectsBadInputNamingIt) {
  Snapshot s;
  auto unknown = ApplySetting(s, "fs.file-maxx", "3");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().context.find("unknown key"), std::string::npos);
  EXPECT_FALSE(ApplySetting(s, "fs.file-max", "lots"));
  EXPECT_FALSE(ApplySetting(s, "net.ipv4.ip_local_port_range", "1024"));
  EXPECT_FALSE(ApplySetting(s, "net.ipv4.ip_local_port_range", "60000 1024"));
  EXPECT_FALSE(ApplySetting(s, "cap.sys_admin", "maybe"));
  EXPECT_FALSE(ApplySetting(s, "mem.available", ""));
  ASSERT_TRUE(ApplySetting(s, "nofile", "4096"));
  EXPECT_FALSE(ApplySetting(s, "nofile.soft", "8192"));  // above the hard limit
}

TEST(Snapshot, ConnKernelBytesOverridesSlabSum) {
  Snapshot s;
  ASSERT_TRUE(ApplySetting(s, "conn.kernel_bytes", "10000"));
  ASSERT_TRUE(ApplySetting(s, "mem.available", "10000000"));
  Ceiling c = ComputeCeiling(s, Scenario{});
  EXPECT_EQ(c.memory.source, "override");
  EXPECT_EQ(c.inbound.box.ceiling, 1000u);
}

}  // namespace
}  // namespace tcpmax::limits

#include "limits/predict.h"

namespace tcpmax::limits {
namespace {

TEST(Predict, PicksTheNumbersProbeCompares) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/this-box");
  ASSERT_TRUE(reader);
  Scenario sc;
  sc.loopback = true;
  Prediction p = Predict(*reader, sc);
  EXPECT_EQ(p.inbound_binding, "rlimit_nofile_hard");
  EXPECT_EQ(p.inbound_binding_name, "RLIMIT_NOFILE (hard)");
  EXPECT_EQ(p.inbound_ceiling, 19995u);
  EXPECT_EQ(p.kernel_bytes_per_end, 3961u);
  EXPECT_EQ(p.bytes_per_connection, 7922u);
  // Both ends on the box: 2 epoll watches per connection; per user binds first.
  EXPECT_EQ(p.box_binding_name, "fs.epoll.max_user_watches");
  EXPECT_EQ(p.box_ceiling, 5491511u / 2);
}

}  // namespace
}  // namespace tcpmax::limits

// The sys reader layer: parsers of /proc text, sysctl paths, cgroup lookup
// over a snapshot directory, and record -> replay of the live box.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sys/pressure.h"
#include "sys/capabilities.h"
#include "sys/cgroup.h"
#include "sys/file_nr.h"
#include "sys/meminfo.h"
#include "sys/reader.h"
#include "sys/slabinfo.h"
#include "sys/snapshot_dir.h"
#include "sys/sockstat.h"
#include "sys/sysctl.h"

namespace tcpmax::sys {
namespace {

namespace fs = std::filesystem;

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tcpmax-sys-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

 private:
  std::string path_;
};

TEST(Sys, ParseNumbersAcceptsTabsAndRejectsWords) {
  auto v = ParseNumbers("32768\t60999\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (std::vector<uint64_t>{32768, 60999}));
  EXPECT_FALSE(ParseNumbers("12 abc"));
  EXPECT_FALSE(ParseNumbers("-3"));
}

TEST(Sys, SysctlPathMapsDotsToSlashes) {
  EXPECT_EQ(SysctlPath("net.ipv4.ip_local_port_range"), "/proc/sys/net/ipv4/ip_local_port_range");
  EXPECT_EQ(SysctlPath("fs.file-max"), "/proc/sys/fs/file-max");
}

TEST(Sys, MeminfoConvertsKilobytes) {
  auto m = ParseMeminfo("MemTotal:       24684084 kB\nMemAvailable:   24417176 kB\nHugePages_Total:       0\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mem_available(), uint64_t(24417176) * 1024);
  EXPECT_EQ(m->Get("HugePages_Total"), 0u);
  EXPECT_FALSE(m->Get("Nope"));
  EXPECT_FALSE(ParseMeminfo("garbage"));
}

TEST(Sys, SlabinfoReadsObjectSizes) {
  auto s = ParseSlabinfo(
      "slabinfo - version: 2.1\n"
      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables ...\n"
      "TCP                   26     26   2368   13    8 : tunables    0    0    0 : slabdata      2      2      0\n"
      "filp                 630    630    192   21    1 : tunables    0    0    0 : slabdata     30     30      0\n");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->count("TCP"), 1u);
  EXPECT_EQ(s->at("TCP").objsize, 2368u);
  EXPECT_EQ(s->at("TCP").active_objs, 26u);
  EXPECT_NEAR(s->at("TCP").footprint(), 8 * 4096 / 13.0, 0.01);
  EXPECT_FALSE(ParseSlabinfo("slabinfo - version: 1.1\n"));
  EXPECT_FALSE(ParseSlabinfo("slabinfo - version: 2.1\nTCP x y\n"));
}

TEST(Sys, SockstatReadsTcpLine) {
  auto s = ParseSockstat("sockets: used 14\nTCP: inuse 3 orphan 1 tw 7 alloc 5 mem 9\nUDP: inuse 0 mem 0\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->sockets_used, 14u);
  EXPECT_EQ(s->tcp_inuse, 3u);
  EXPECT_EQ(s->tcp_tw, 7u);
  EXPECT_EQ(s->tcp_mem_pages, 9u);
  EXPECT_FALSE(ParseSockstat("sockets: used 1\n"));
}

TEST(Sys, CapabilitiesRoundTrip) {
  auto m = ParseCapabilities("000001fffeffffff");
  ASSERT_TRUE(m);
  EXPECT_TRUE(HasCapability(*m, kCapSysAdmin));
  EXPECT_FALSE(HasCapability(*m, kCapSysResource));
  EXPECT_EQ(FormatCapabilities(*m), "000001fffeffffff");
  EXPECT_FALSE(ParseCapabilities("xyz"));
}

TEST(Sys, SnapshotReaderReplaysFilesAndProcessLines) {
  TempDir d;
  d.Write("process", "rlimit_nofile 1024 4096\nrlimit_nproc unlimited unlimited\ncap_effective 0\n"
                     "address lo 127.0.0.1/8 loopback\n");
  d.Write("proc/sys/fs/file-nr", "1000\t0\t9223372036854775807\n");
  auto r = SnapshotReader::Open(d.path());
  ASSERT_TRUE(r) << r.error().ToString();
  auto nofile = r->GetRlimit(RlimitKind::kNofile);
  ASSERT_TRUE(nofile);
  EXPECT_EQ(nofile->soft, 1024u);
  EXPECT_EQ(nofile->hard, 4096u);
  EXPECT_EQ(r->GetRlimit(RlimitKind::kNproc)->hard, kUnlimited);
  auto nr = ReadFileNr(*r);
  ASSERT_TRUE(nr);
  EXPECT_EQ(nr->in_use(), 1000u);
  auto missing = ReadSysctl(*r, "fs.nr_open");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  ASSERT_TRUE(r->LocalAddresses());
  EXPECT_TRUE(r->LocalAddresses()->front().loopback);
}

TEST(Sys, SnapshotReaderRejectsMissingDirectory) {
  auto r = SnapshotReader::Open("/nonexistent/tcpmax-snapshot");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
}

TEST(Sys, CgroupV2TakesTightestAncestor) {
  TempDir d;
  d.Write("process", "cap_effective 0\n");
  d.Write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  d.Write("sys/fs/cgroup/kubepods/memory.max", "1073741824\n");
  d.Write("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n");
  d.Write("sys/fs/cgroup/kubepods/pod1/ctr/memory.current", "104857600\n");
  d.Write("sys/fs/cgroup/kubepods/pod1/ctr/pids.max", "512\n");
  auto r = SnapshotReader::Open(d.path());
  ASSERT_TRUE(r);
  auto cg = ReadCgroupLimits(*r);
  ASSERT_TRUE(cg) << cg.error().ToString();
  EXPECT_EQ(cg->version, 2);
  EXPECT_EQ(cg->memory_max, uint64_t(1) << 30);
  EXPECT_EQ(cg->memory_current, 104857600u);
  EXPECT_EQ(cg->pids_max, 512u);
}

TEST(Sys, CgroupV1HugeLimitMeansNone) {
  TempDir d;
  d.Write("process", "cap_effective 0\n");
  d.Write("proc/self/cgroup", "4:memory:/a\n8:pids:/\n0::/\n");
  d.Write("sys/fs/cgroup/memory/a/memory.limit_in_bytes", "9223372036854771712\n");
  d.Write("sys/fs/cgroup/memory/a/memory.usage_in_bytes", "4096\n");
  auto r = SnapshotReader::Open(d.path());
  ASSERT_TRUE(r);
  auto cg = ReadCgroupLimits(*r);
  ASSERT_TRUE(cg);
  EXPECT_EQ(cg->version, 1);
  EXPECT_FALSE(cg->memory_max);
  EXPECT_EQ(cg->memory_current, 4096u);
}

TEST(Sys, RecordThenReplayMatchesLiveReadings) {
  LiveReader live;
  RecordingReader rec(live);
  auto range = ReadSysctl(rec, "net.ipv4.ip_local_port_range");
  ASSERT_TRUE(range);
  auto nofile = rec.GetRlimit(RlimitKind::kNofile);
  ASSERT_TRUE(nofile);
  ASSERT_TRUE(rec.EffectiveCapabilities());
  ASSERT_TRUE(rec.LocalAddresses());
  TempDir d;
  ASSERT_TRUE(rec.Save(d.path()));
  auto replay = SnapshotReader::Open(d.path());
  ASSERT_TRUE(replay) << replay.error().ToString();
  EXPECT_EQ(*ReadSysctl(*replay, "net.ipv4.ip_local_port_range"), *range);
  EXPECT_EQ(replay->GetRlimit(RlimitKind::kNofile)->hard, nofile->hard);
  EXPECT_EQ(*replay->EffectiveCapabilities(), *rec.EffectiveCapabilities());
  EXPECT_EQ(replay->LocalAddresses()->size(), rec.LocalAddresses()->size());
}

TEST(Sys, LiveReaderReadsProcFilesOfSizeZero) {
  LiveReader live;
  auto m = ReadMeminfo(live);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_GT(m->mem_total().value_or(0), 0u);
  auto missing = live.ReadFile("/proc/sys/does/not/exist");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

}  // namespace
}  // namespace tcpmax::sys

#include <sys/resource.h>

#include "sys/rlimit.h"

namespace tcpmax::sys {
namespace {

TEST(SysRlimit, RaiseNofileToHardLiftsTheSoftLimit) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max < 64) GTEST_SKIP() << "hard RLIMIT_NOFILE below 64";
  rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  auto raised = RaiseNofileToHard();
  ASSERT_TRUE(raised) << raised.error().ToString();
  EXPECT_EQ(raised->soft, raised->hard);
  EXPECT_EQ(raised->hard, saved.rlim_max == RLIM_INFINITY ? kUnlimited : uint64_t(saved.rlim_max));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

}  // namespace
}  // namespace tcpmax::sys

namespace tcpmax::sys {
namespace {

TEST(Pressure, ParsesSomeAndFull) {
  auto p = ParsePressure("some avg10=57.80 avg60=40.52 avg300=10.00 total=406020112\n"
                         "full avg10=9.00 avg60=7.46 avg300=1.00 total=83531375\n");
  ASSERT_TRUE(p) << p.error().ToString();
  EXPECT_DOUBLE_EQ(p->some_avg10, 57.80);
  EXPECT_DOUBLE_EQ(p->full_avg10, 9.00);
  auto cpu = ParsePressure("some avg10=1.5 avg60=0 avg300=0 total=1\n");
  ASSERT_TRUE(cpu);
  EXPECT_DOUBLE_EQ(cpu->full_avg10, 0);
  EXPECT_FALSE(ParsePressure("nothing here"));
  EXPECT_FALSE(ParsePressure("some avg10=abc total=1\n"));
}

}  // namespace
}  // namespace tcpmax::sys

// Readers behind probe --server: /proc/PID/limits, /proc/net/netstat and
// /proc/net/snmp, and this process's own facts read as another's would be.
#include <unistd.h>

#include <gtest/gtest.h>

#include "sys/netstat.h"
#include "sys/process_facts.h"
#include "sys/rlimit.h"

namespace tcpmax::sys {
namespace {

TEST(ProcessFacts, ParsesNofileLimits) {
  const char* text =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             95623                95623                processes \n"
      "Max open files            3000                 20000                files     \n";
  auto v = ParseNofileLimits(text);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->first, 3000u);
  EXPECT_EQ(v->second, 20000u);
  auto u = ParseNofileLimits("Max open files            unlimited            unlimited            files\n");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->first, kUnlimited);
  EXPECT_FALSE(ParseNofileLimits("Max processes 1 1\n"));
  EXPECT_FALSE(ParseNofileLimits("Max open files  lots  20000 files\n"));
}

TEST(ProcessFacts, ReadsThisProcess) {
  auto f = ReadProcessFacts(::getpid());
  ASSERT_TRUE(f) << f.error().ToString();
  auto nofile = GetNofile();
  ASSERT_TRUE(nofile);
  EXPECT_EQ(f->nofile_soft, nofile->soft);
  EXPECT_GE(f->fds, 3u);
  EXPECT_GE(f->threads, 1u);
  EXPECT_GT(f->anon_bytes, 0u);
  EXPECT_EQ(f->ppid, ::getppid());
  auto tree = ProcessTree(::getpid());
  ASSERT_FALSE(tree.empty());
  EXPECT_EQ(tree.front(), ::getpid());
}

TEST(ProcessFacts, AMissingProcessIsEnoent) {
  auto f = ReadProcessFacts(999'999'999);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ENOENT);
  EXPECT_TRUE(ProcessTree(999'999'999).empty());
}

TEST(NetCounters, PairsNamesWithValues) {
  auto c = ParseNetCounters(
      "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 3 7162 7170\n"
      "IpExt: InOctets\nIpExt: 99\n");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(Counter(*c, "TcpExt.ListenOverflows"), 7162u);
  EXPECT_EQ(Counter(*c, "TcpExt.ListenDrops"), 7170u);
  EXPECT_EQ(Counter(*c, "IpExt.InOctets"), 99u);
  EXPECT_EQ(Counter(*c, "TcpExt.Nothing"), 0u);
  EXPECT_FALSE(ParseNetCounters("TcpExt: A B\nTcpExt: 1\n"));
  EXPECT_FALSE(ParseNetCounters("TcpExt: A\nIpExt: 1\n"));
  EXPECT_FALSE(ParseNetCounters("TcpExt: A\nTcpExt: x\n"));
}

TEST(NetCounters, ReadsTheLiveBox) {
  auto c = ReadNetCounters(LiveReader());
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_TRUE(c->count("TcpExt.ListenOverflows"));
  EXPECT_TRUE(c->count("Tcp.ActiveOpens"));
}

}  // namespace
}  // namespace tcpmax::sys

// tcpmax probe end to end on loopback: a small climb whose report agrees with
// what `tcpmax count` sees, and a climb interrupted by SIGINT that leaves no
// shard, no listener and no changed sysctl behind.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

std::string ReadSysctl(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  std::getline(f, v);
  return v;
}

void WriteSysctl(const std::string& path, const std::string& v) { std::ofstream(path) << v << "\n"; }

// Established sockets on 127.0.0.1 server ports [lo, hi], as `tcpmax count` sees them.
// In the network namespace of process `ns_pid` when given (the probe climbs
// in one of its own), else in the test's.
uint64_t CountServerSide(int lo, int hi, pid_t ns_pid = 0) {
  std::string cmd = std::string(TCPMAX_BINARY) + " count --lport " + std::to_string(lo) + "-" + std::to_string(hi) +
                    " --state established --src 127.0.0.1/32 -4 --json";
  if (ns_pid > 0) cmd = "nsenter --net=/proc/" + std::to_string(ns_pid) + "/ns/net " + cmd;
  RunResult r = RunShell(cmd + " 2>/dev/null");
  if (r.exit_code != 0) return UINT64_MAX;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded()) return UINT64_MAX;
  return j.value("total", UINT64_MAX);
}

TEST(Probe, SmallClimbMatchesCount) {
  TCPMAX_REQUIRE_NET_ADMIN();
  constexpr int kFirst = 17100;
  // Run the probe in the background with a 3 s hold at the peak, and count
  // while it holds.
  std::string out = std::string(TCPMAX_BUILD_DIR) + "/probe-test.json";
  std::string html = std::string(TCPMAX_BUILD_DIR) + "/probe-test.html";
  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = std::string(TCPMAX_BINARY) + " probe --target 20000 --engine epoll --first-port " +
                      std::to_string(kFirst) + " --hold 4s --json --html " + html + " > " + out + " 2>/dev/null";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(127);
  }
  // Count until the probe exits (however slow a loaded box makes the climb);
  // the 4 s hold at the peak leaves time to see all 20,000.
  // The probe climbs in a namespace of its own: count there; the host's
  // namespace must see none of it.
  const std::string child_ehash = ReadSysctl("/proc/sys/net/ipv4/tcp_child_ehash_entries");
  uint64_t seen = 0, seen_on_host = 0;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (seen >= 20000) continue;
    uint64_t c = CountServerSide(kFirst, kFirst + 15, pid);
    if (c != UINT64_MAX) seen = std::max(seen, c);
    uint64_t h = CountServerSide(kFirst, kFirst + 15);
    if (h != UINT64_MAX) seen_on_host = std::max(seen_on_host, h);
  }
  EXPECT_EQ(seen_on_host, 0u) << "connections of the probe's own namespace seen in the host's";
  EXPECT_EQ(ReadSysctl("/proc/sys/net/ipv4/tcp_child_ehash_entries"), child_ehash)
      << "net.ipv4.tcp_child_ehash_entries not restored";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream f(out);
  auto rep = nlohmann::json::parse(f, nullptr, false);
  ASSERT_FALSE(rep.is_discarded());
  EXPECT_EQ(rep["schema"], "tcpmax.probe/2");
  EXPECT_EQ(rep["result"]["stop_reason"], "target reached");
  EXPECT_EQ(rep["result"]["reached"], 20000);
  // Both ends, counted by the kernel, agree with what the shards hold.
  EXPECT_EQ(rep["result"]["verification"]["ok"], true) << rep["result"]["verification"].dump();
  EXPECT_EQ(rep["result"]["verification"]["server_established"], 20000);
  EXPECT_EQ(rep["result"]["verification"]["client_established"], 20000);
  EXPECT_EQ(rep["result"]["failed"], false);
  // The supervisor sampled on time: no gap over two intervals (250 ms each).
  EXPECT_LE(rep["result"]["max_sample_gap_seconds"].get<double>(), 0.5);
  EXPECT_EQ(seen, 20000u) << "tcpmax count during the hold, in the probe's namespace";
  // Its own established hash, sized for 2 x 20,000 sockets (at least 64k).
  ASSERT_TRUE(rep["netns"].is_object()) << rep["notes"].dump();
  EXPECT_EQ(rep["netns"]["ehash_buckets"], 65536);
  // Unwatched by default, and the sockets' own slab is apart from the rest:
  // about two TCP sockets, inodes, files and dentries per connection.
  EXPECT_EQ(rep["memory"]["watched"], false);
  const auto& share = rep["memory"]["slab_at_peak"];
  ASSERT_TRUE(share.is_object());
  EXPECT_NEAR(share["sockets_per_connection"].get<double>(), 2.0, 0.05);
  EXPECT_GT(share["socket_bytes_per_connection"].get<double>(), 6000);
  EXPECT_LT(share["socket_bytes_per_connection"].get<double>(), 9000);
  // Two sockets per connection cost kilobytes of slab (TCP alone is 2,368 B each).
  EXPECT_GT(rep["memory"]["kernel_bytes_per_connection"].get<double>(), 4000);
  EXPECT_GT(rep["prediction"]["ceiling"].get<uint64_t>(), 20000u);
  // Torn down: nothing established or listening on the probe's ports.
  EXPECT_EQ(CountServerSide(kFirst, kFirst + 15), 0u);
  std::ifstream h(html);
  std::string page((std::istreambuf_iterator<char>(h)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos);
}

TEST(Probe, SigintMidClimbRestoresSysctlsAndLeavesNothing) {
  TCPMAX_REQUIRE_NET_ADMIN();
  constexpr int kFirst = 17300;
  const std::string somaxconn = "/proc/sys/net/core/somaxconn";
  const std::string backlog = "/proc/sys/net/ipv4/tcp_max_syn_backlog";
  std::string old_somaxconn = ReadSysctl(somaxconn), old_backlog = ReadSysctl(backlog);
  // Lower them so that --tune has something to raise.
  WriteSysctl(somaxconn, "1024");
  WriteSysctl(backlog, "1024");

  pid_t pid = fork();
  if (pid == 0) {
    // --host-netns: the per-namespace sysctls --tune raises are the host's here.
    std::string cmd = std::string(TCPMAX_BINARY) + " probe --tune --host-netns --target 200k --rate 5k/s --engine epoll --first-port " +
                      std::to_string(kFirst) + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(127);
  }
  // Wait until the climb is under way and --tune changed somaxconn.
  bool tuned = false;
  for (int i = 0; i < 100 && !tuned; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tuned = ReadSysctl(somaxconn) == "65535";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  uint64_t mid = CountServerSide(kFirst, kFirst + 63);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);

  EXPECT_TRUE(tuned) << "probe --tune never raised net.core.somaxconn";
  EXPECT_GT(mid, 0u) << "the climb had not started when SIGINT was sent";
  EXPECT_TRUE(WIFEXITED(status)) << "probe died of a signal instead of stopping cleanly";
  EXPECT_EQ(ReadSysctl(somaxconn), "1024");
  EXPECT_EQ(ReadSysctl(backlog), "1024");
  RunResult procs = RunShell("pgrep -f 'tcpmax (serve|load|probe)' || true");
  EXPECT_EQ(procs.out, "") << "tcpmax processes left behind";
  RunResult listeners = RunShell("ss -Hltn 'sport >= :" + std::to_string(kFirst) + " and sport <= :" +
                                 std::to_string(kFirst + 63) + "'");
  EXPECT_EQ(listeners.out, "") << "listening sockets left behind";
  EXPECT_EQ(CountServerSide(kFirst, kFirst + 63), 0u);

  WriteSysctl(somaxconn, old_somaxconn);
  WriteSysctl(backlog, old_backlog);
}

}  // namespace
}  // namespace tcpmax::testing

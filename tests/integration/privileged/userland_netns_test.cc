// userland works only in a namespace it created: an existing namespace is
// refused without --netns-reuse, and --netns-reuse refuses the host's (or
// tcpmax's own) namespace and one with a way off the box; a SIGKILLed run's
// namespace is removed by `tcpmax restore`. Needs root with CAP_NET_ADMIN.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "run_lock_wait.h"
#include "userland_peers.h"

namespace tcpmax::testing {
namespace {

std::string HostIpForward() {
  std::ifstream f("/proc/sys/net/ipv4/ip_forward");
  std::string v;
  std::getline(f, v);
  return v;
}

TEST(UserlandNetns, ExistingNamespaceItDidNotCreateIsRefused) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-foreign";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns).exit_code, 0);
  RunResult r = RunTcpmax({"userland", "serve", "--netns", ns, "--duration", "2s"}, 30);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("netns " + ns + " already exists and this run did not create it"), std::string::npos) << r.err;
  EXPECT_EQ(RunShell("ip -n " + ns + " link show tmxs0 2>/dev/null").out, "") << "a TUN was created in it";
  RunResult load = RunTcpmax({"userland", "load", "198.18.0.1:80", "-n", "10", "--source", "198.19.0.0/24", "--netns",
                              ns, "--timeout", "2s"},
                             30);
  EXPECT_EQ(load.exit_code, 1) << load.err;
  EXPECT_EQ(RunShell("ip netns exec " + ns + " cat /proc/sys/net/ipv4/ip_forward").out, "0\n")
      << "ip_forward was turned on in a namespace tcpmax does not own";
  EXPECT_TRUE(NetnsExists(ns)) << "a refused run removed someone else's namespace";
  RunShell("ip netns del " + ns);
}

TEST(UserlandNetns, ReuseRefusesTheHostsNamespace) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-hostns";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  // A name for this process's namespace, as `ip netns attach NAME PID` makes.
  ASSERT_EQ(RunShell("ip netns attach " + ns + " " + std::to_string(getpid())).exit_code, 0);
  std::string forward = HostIpForward();
  RunResult r = RunTcpmax({"userland", "load", "198.18.0.1:80", "-n", "10", "--source", "198.19.0.0/24",
                           "--netns-reuse", ns, "--timeout", "2s"},
                          30);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("is the same namespace as /proc/self/ns/net"), std::string::npos) << r.err;
  EXPECT_EQ(HostIpForward(), forward);
  EXPECT_EQ(RunShell("ip link show tmxl0 2>/dev/null").out, "") << "a TUN was created in the host's namespace";
  RunShell("ip netns del " + ns);
}

TEST(UserlandNetns, ReuseRefusesANamespaceWithAnUplink) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-uplink";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns + " && ip -n " + ns + " link add tmxv0 type veth peer name tmxv1").exit_code, 0);
  RunResult r = RunTcpmax({"userland", "load", "198.18.0.1:80", "-n", "10", "--source", "198.19.0.0/24",
                           "--netns-reuse", ns, "--timeout", "2s"},
                          30);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(" besides loopback and TUN devices: traffic could leave the box"), std::string::npos) << r.err;
  EXPECT_EQ(RunShell("ip netns exec " + ns + " cat /proc/sys/net/ipv4/ip_forward").out, "0\n");
  RunShell("ip netns del " + ns);
}

TEST(UserlandNetns, SigkilledServeLeavesANamespaceThatRestoreRemoves) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-killed";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = std::string("exec ") + TCPMAX_BINARY + " userland serve --netns " + ns +
                      " --duration 60s >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ready = RunShell("ip -n " + ns + " route show 198.18.0.0/15 2>/dev/null").out.find("tmxs0") != std::string::npos;
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(ready) << "userland serve never set up its namespace";
  ASSERT_TRUE(NetnsExists(ns)) << "SIGKILL cannot have removed it";
  RunResult r = RunTcpmax({"restore"}, 30);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("netns " + ns + ": removed"), std::string::npos) << r.out;
  EXPECT_FALSE(NetnsExists(ns));
  RunShell("ip netns del " + ns + " 2>/dev/null");
}

}  // namespace
}  // namespace tcpmax::testing

namespace tcpmax::testing {
namespace {

TEST(UserlandNetns, ClosedOutputPipeStillRemovesTheNamespace) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-pipe";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  RunResult r = RunShell(std::string(TCPMAX_BINARY) + " userland serve --netns " + ns +
                             " --duration 2s 2>&1 | head -1",
                         60);
  EXPECT_NE(r.out.find("created netns " + ns), std::string::npos) << r.out;
  EXPECT_FALSE(NetnsExists(ns)) << "the namespace leaked after the output pipe closed";
  RunShell("ip netns del " + ns + " 2>/dev/null");
}

}  // namespace
}  // namespace tcpmax::testing

namespace tcpmax::testing {
namespace {

std::string NetnsIpForward(const std::string& ns) {
  return RunShell("ip netns exec " + ns + " cat /proc/sys/net/ipv4/ip_forward").out;
}

// --netns-reuse: ip_forward is set only inside that namespace, journalled, and
// put back on exit; after SIGKILL `tcpmax restore` puts it back and leaves the
// namespace (tcpmax did not create it) in place.
TEST(UserlandNetns, ReusedNamespaceGetsItsIpForwardBackEvenAfterSigkill) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-reuse";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns + " && ip -n " + ns + " link set lo up").exit_code, 0);
  std::string host_forward = HostIpForward();
  RunResult r = RunTcpmax({"userland", "load", "198.18.0.1:80", "-n", "10", "--source", "198.19.0.0/24",
                           "--netns-reuse", ns, "--timeout", "2s"},
                          30);
  EXPECT_NE(r.err.find("set net.ipv4.ip_forward=1 in netns " + ns), std::string::npos) << r.err;
  EXPECT_EQ(NetnsIpForward(ns), "0\n") << "not put back on a normal exit";
  EXPECT_TRUE(NetnsExists(ns));

  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = std::string("exec ") + TCPMAX_BINARY + " userland load 198.18.0.1:80 -n 100k --rate 10/s " +
                      "--source 198.19.0.0/16 --netns-reuse " + ns + " --timeout 60s >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
    _exit(127);
  }
  bool on = false;
  for (int i = 0; i < 100 && !on; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    on = NetnsIpForward(ns) == "1\n";
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(on) << "userland load never turned ip_forward on in its namespace";
  RunResult restore = RunTcpmax({"restore"}, 30);
  EXPECT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_NE(restore.out.find("sysctl net.ipv4.ip_forward in netns " + ns + ": restored to 0"), std::string::npos)
      << restore.out;
  EXPECT_EQ(NetnsIpForward(ns), "0\n");
  EXPECT_TRUE(NetnsExists(ns)) << "a namespace tcpmax did not create was removed";
  EXPECT_EQ(HostIpForward(), host_forward) << "the host's ip_forward changed";
  RunShell("ip netns del " + ns);
}

}  // namespace
}  // namespace tcpmax::testing

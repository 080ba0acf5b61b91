// `tcpmax userland` against peers nobody here wrote: kernel TCP clients
// (python3 sockets, nc) in the namespace talk to the user-space server; the
// user-space client completes handshakes with the kernel (`tcpmax serve` in
// the namespace) and `tcpmax count` there sees them; tshark finds no
// malformed packets and no TCP analysis flags; SIGINT removes the namespace.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "background.h"
#include "harness.h"
#include "run_lock_wait.h"
#include "userland_peers.h"

namespace tcpmax::testing {
namespace {

// Waits until `command` succeeds (at most ~10 s).
Background StartUserlandServe(const std::string& ns, const std::string& mode) {
  return Background({TCPMAX_BINARY, "userland", "serve", "--listen", "198.18.0.1:80,8080", "--mode", mode,
                     "--netns", ns, "--duration", "90s", "--json"},
                    ns + "-serve");
}

bool ServeReady(const std::string& ns) {
  return WaitFor("ip -n " + ns + " route show 198.18.0.0/15 | grep -q tmxs0");
}

TEST(UserlandInteropTest, KernelClientsEchoAndCloseCleanly) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-echo";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  Background serve = StartUserlandServe(ns, "echo");
  ASSERT_TRUE(ServeReady(ns)) << serve.Err();
  std::ofstream("/tmp/tcpmax-ul-echo.py") << EchoClientsScript("198.18.0.1", 20, 400);
  RunResult py = RunShell("ip netns exec " + ns + " python3 /tmp/tcpmax-ul-echo.py", 60);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("ok 20"), std::string::npos) << py.out;
  RunResult nc = RunShell("echo tcpmax-nc | ip netns exec " + ns + " timeout 5 nc -N 198.18.0.1 80", 10);
  EXPECT_EQ(nc.out, "tcpmax-nc\n") << nc.err;
  // Give the last ACKs of the FIN exchanges a moment, then stop with SIGINT.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(serve.Stop(SIGINT), 0) << serve.Err();
  auto j = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["accepted"], 21);
  EXPECT_EQ(j["closed"], 21);  // every connection went through LAST-ACK to CLOSED
  EXPECT_EQ(j["established"], 0);
  EXPECT_EQ(j["reset_by_peer"], 0);
  EXPECT_EQ(j["bytes_echoed"], j["bytes_in"]);
  EXPECT_GT(j["bytes_in"].get<uint64_t>(), 20u * 100000u);
  EXPECT_FALSE(NetnsExists(ns)) << "SIGINT must remove the namespace it created";
  EXPECT_NE(serve.Err().find("removed netns " + ns), std::string::npos) << serve.Err();
}

TEST(UserlandInteropTest, TsharkSeesNoMalformedPacketsOrAnalysisFlags) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-shark";
  const std::string pcap = "/tmp/tcpmax-ul-shark.pcap";
  RunShell("ip netns del " + ns + " 2>/dev/null; rm -f " + pcap);
  Background serve = StartUserlandServe(ns, "echo");
  ASSERT_TRUE(ServeReady(ns)) << serve.Err();
  Background shark({"ip", "netns", "exec", ns, "tshark", "-i", "tmxs0", "-f", "tcp port 80", "-w", pcap, "-a",
                    "duration:30"},
                   "shark");
  ASSERT_TRUE(WaitFor("grep -q 'Capturing on' /tmp/tcpmax-ul-shark.err")) << shark.Err();
  std::ofstream("/tmp/tcpmax-ul-shark.py") << R"PY(
import socket
for i in range(3):
    s = socket.create_connection(("198.18.0.1", 80), timeout=5)
    s.sendall(b"a" * 5000)
    got = b""
    while len(got) < 5000:
        got += s.recv(65536)
    s.close()
)PY";
  RunResult py = RunShell("ip netns exec " + ns + " python3 /tmp/tcpmax-ul-shark.py", 30);
  EXPECT_EQ(py.exit_code, 0) << py.err;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  shark.Stop(SIGINT);
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  RunResult all = RunShell("tshark -r " + pcap + " 2>/dev/null | wc -l", 30);
  EXPECT_GE(std::stoi(all.out), 3 * 7) << "capture too small";
  RunResult bad = RunShell("tshark -r " + pcap + " -Y 'tcp.analysis.flags || _ws.malformed' 2>/dev/null", 30);
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_EQ(bad.out, "") << "tshark flagged:\n" << bad.out;
}

TEST(UserlandInteropTest, UserlandClientAgainstKernelServer) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-kern";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns + " && ip -n " + ns + " link set lo up && ip -n " + ns +
                     " addr add 198.18.0.1/32 dev lo").exit_code, 0);
  Background kserve({"ip", "netns", "exec", ns, TCPMAX_BINARY, "serve", "--listen", "198.18.0.1:80", "--duration",
                     "60s"},
                    "kserve");
  ASSERT_TRUE(WaitFor("ip netns exec " + ns + " ss -Htln | grep -q 198.18.0.1:80"));
  RunResult load = RunTcpmax({"userland", "load", "198.18.0.1:80", "--connections", "3000", "--source",
                              "198.19.0.0/24", "--netns-reuse", ns, "--verify", "500", "--json"},
                             60);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto j = nlohmann::json::parse(load.out);
  EXPECT_EQ(j["established"], 3000);
  EXPECT_EQ(j["verify"]["answered"], 500);
  EXPECT_EQ(j["verify"]["lost"], 0);
  EXPECT_TRUE(NetnsExists(ns)) << "load must not remove a namespace it did not create";
  RunResult count = RunTcpmax({"count", "--netns", ns, "--state", "established", "--lport", "80", "--json"}, 30);
  ASSERT_EQ(count.exit_code, 0) << count.err;
  EXPECT_EQ(nlohmann::json::parse(count.out)["total"], 3000);
  RunResult ss = RunShell("ip netns exec " + ns + " ss -Htn state established '( sport = :80 )' | wc -l");
  EXPECT_EQ(std::stoi(ss.out), 3000);
  kserve.Stop(SIGINT);
  RunShell("ip netns del " + ns);
}

TEST(UserlandInteropTest, UserlandClientAgainstUserlandServer) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-both";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  Background serve = StartUserlandServe(ns, "hold");
  ASSERT_TRUE(ServeReady(ns)) << serve.Err();
  RunResult load = RunTcpmax({"userland", "load", "198.18.0.1:80,8080", "--connections", "20k", "--source",
                              "198.19.0.0/20", "--netns-reuse", ns, "--verify", "2000", "--rate", "20k/s", "--json"},
                             90);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto j = nlohmann::json::parse(load.out);
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  auto s = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["established"], 20000);
  EXPECT_EQ(s["established"], j["established"]);  // no final ACK lost on the way
  EXPECT_EQ(j["verify"]["answered"], 2000);
  EXPECT_EQ(j["verify"]["reset"], 0);
  EXPECT_EQ(j["verify"]["lost"], 0);
  EXPECT_GE(s["dup_acks"].get<uint64_t>(), 2000u);  // each probe answered as an unacceptable segment
  EXPECT_FALSE(NetnsExists(ns));
}

TEST(UserlandInteropTest, SetupErrorsUndoWhatWasDone) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul-err";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  // `lo` exists in every new namespace: the TUN cannot take its name.
  RunResult r = RunTcpmax({"userland", "serve", "--netns", ns, "--tun", "lo", "--duration", "5s"}, 30);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("TUNSETIFF lo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("removed netns " + ns), std::string::npos) << r.err;
  EXPECT_FALSE(NetnsExists(ns));
  // A second engine in a namespace another run made is refused without
  // --netns-reuse; with it, the same TUN name fails; both leave it alone.
  Background first = StartUserlandServe(ns, "hold");
  ASSERT_TRUE(ServeReady(ns)) << first.Err();
  RunResult second = RunTcpmax({"userland", "serve", "--netns", ns, "--duration", "5s"}, 30);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("netns " + ns + " already exists and this run did not create it"), std::string::npos)
      << second.err;
  EXPECT_TRUE(NetnsExists(ns));
  RunResult third = RunTcpmax({"userland", "serve", "--netns-reuse", ns, "--duration", "5s"}, 30);
  EXPECT_EQ(third.exit_code, 1);
  EXPECT_NE(third.err.find("using existing netns " + ns), std::string::npos) << third.err;
  EXPECT_TRUE(NetnsExists(ns));
  EXPECT_EQ(first.Stop(SIGTERM), 0) << first.Err();
  EXPECT_FALSE(NetnsExists(ns)) << "SIGTERM must remove the namespace too";
}

TEST(UserlandInteropTest, BadFlagsAreOneLineUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{"userland"}, "missing subcommand"},
      {{"userland", "bogus"}, "unknown subcommand"},
      {{"userland", "serve", "--listen", "10.0.0.1:80"}, "198.18.0.0/15"},
      {{"userland", "serve", "--mode", "fast"}, "--mode"},
      {{"userland", "serve", "--netns", "a/b"}, "--netns"},
      {{"userland", "load", "198.18.0.1:80"}, "connections"},
      {{"userland", "load", "198.18.0.1:80", "-n", "100", "--source", "10.0.0.0/8"}, "--source"},
      {{"userland", "load", "198.18.0.1:80", "-n", "1M", "--source", "198.19.0.0/30", "--source-ports", "1000-1999"},
       "exceeds"},
      {{"userland", "load", "198.18.0.1:80", "-n", "10", "--rate", "fast"}, "--rate"},
      {{"userland", "load", "198.18.0.1:80,80", "-n", "10"}, "given twice"},
      {{"userland", "serve", "--listen", "198.18.0.1:0-5"}, "not a port"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTcpmax(c.args, 10);
    EXPECT_EQ(r.exit_code, 2) << c.args.back();
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace tcpmax::testing

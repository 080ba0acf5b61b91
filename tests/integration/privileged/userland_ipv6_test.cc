// `tcpmax userland` over IPv6 (TUN, 2001:db8::/32 inside namespaces the test
// or tcpmax makes): kernel IPv6 clients (Python sockets, nc) echo through the
// user-space server and close cleanly; the user-space client completes
// handshakes with the kernel's IPv6 TCP and with the user-space server, and
// verifies them; tshark finds no malformed packet and no TCP analysis flag.
// Needs root with CAP_NET_ADMIN.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "background.h"
#include "harness.h"
#include "run_lock_wait.h"
#include "userland_peers.h"
#include "sys/undo.h"

namespace tcpmax::testing {
namespace {

Background StartServe6(const std::string& ns, const std::string& mode) {
  return Background({TCPMAX_BINARY, "userland", "serve", "--listen", "[2001:db8::1]:80,8080", "--mode", mode,
                     "--netns", ns, "--duration", "90s", "--json"},
                    ns + "-serve");
}

bool Serve6Ready(const std::string& ns) { return WaitFor("ip -n " + ns + " -6 route show 2001:db8::/32 | grep -q tmxs0"); }

TEST(UserlandIpv6Test, KernelClientsEchoOverIpv6AndCloseCleanly) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul6-echo";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  Background serve = StartServe6(ns, "echo");
  ASSERT_TRUE(Serve6Ready(ns)) << serve.Err();
  std::ofstream("/tmp/tcpmax-ul6-echo.py") << EchoClientsScript("2001:db8::1", 10, 400);
  RunResult py = RunShell("ip netns exec " + ns + " /usr/bin/python3 /tmp/tcpmax-ul6-echo.py", 60);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("ok 10"), std::string::npos) << py.out;
  RunResult nc = RunShell("echo tcpmax-nc6 | ip netns exec " + ns + " timeout 5 nc -N 2001:db8::1 80", 10);
  EXPECT_EQ(nc.out, "tcpmax-nc6\n") << nc.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(serve.Stop(SIGINT), 0) << serve.Err();
  auto j = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["family"], "ipv6");
  EXPECT_EQ(j["accepted"], 11);
  EXPECT_EQ(j["closed"], 11);  // every connection went through LAST-ACK to CLOSED
  EXPECT_EQ(j["established"], 0);
  EXPECT_EQ(j["reset_by_peer"], 0);
  EXPECT_EQ(j["drops"]["bad_tcp_checksum"], 0);
  EXPECT_EQ(j["bytes_echoed"], j["bytes_in"]);
  EXPECT_GT(j["bytes_in"].get<uint64_t>(), 10u * 100000u);
  EXPECT_EQ(j["peer_prefixes"], 1);  // 2001:db8::fffe, the kernel's address
  EXPECT_FALSE(NetnsExists(ns)) << "SIGINT must remove the namespace it created";
}

TEST(UserlandIpv6Test, TsharkSeesNoMalformedPacketsOrAnalysisFlagsOverIpv6) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul6-shark";
  const std::string pcap = "/tmp/tcpmax-ul6-shark.pcap";
  RunShell("ip netns del " + ns + " 2>/dev/null; rm -f " + pcap);
  Background serve = StartServe6(ns, "echo");
  ASSERT_TRUE(Serve6Ready(ns)) << serve.Err();
  Background shark({"ip", "netns", "exec", ns, "tshark", "-i", "tmxs0", "-f", "ip6 and tcp port 80", "-w", pcap, "-a",
                    "duration:30"},
                   "shark6");
  ASSERT_TRUE(WaitFor("grep -q 'Capturing on' /tmp/tcpmax-ul-shark6.err")) << shark.Err();
  std::ofstream("/tmp/tcpmax-ul6-shark.py") << R"PY(
import socket
for i in range(3):
    s = socket.create_connection(("2001:db8::1", 80), timeout=5)
    s.sendall(b"a" * 5000)
    got = b""
    while len(got) < 5000:
        got += s.recv(65536)
    s.close()
)PY";
  RunResult py = RunShell("ip netns exec " + ns + " /usr/bin/python3 /tmp/tcpmax-ul6-shark.py", 30);
  EXPECT_EQ(py.exit_code, 0) << py.err;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  shark.Stop(SIGINT);
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  RunResult all = RunShell("tshark -r " + pcap + " -Y ipv6 2>/dev/null | wc -l", 30);
  EXPECT_GE(std::stoi(all.out), 3 * 7) << "capture too small";
  RunResult bad = RunShell("tshark -r " + pcap + " -Y 'tcp.analysis.flags || _ws.malformed' 2>/dev/null", 30);
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_EQ(bad.out, "") << "tshark flagged:\n" << bad.out;
  RunResult sums = RunShell("tshark -r " + pcap + " -o tcp.check_checksum:TRUE -Y 'tcp.checksum.status == 0' 2>/dev/null", 30);
  EXPECT_EQ(sums.out, "") << "bad TCP checksums:\n" << sums.out;
}

TEST(UserlandIpv6Test, UserlandClientAgainstKernelServerOverIpv6) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul6-kern";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns + " && ip -n " + ns + " link set lo up && ip -n " + ns +
                     " addr add 2001:db8::1/128 dev lo nodad").exit_code, 0);
  Background kserve({"ip", "netns", "exec", ns, TCPMAX_BINARY, "serve", "--listen", "[2001:db8::1]:80", "--duration",
                     "60s"},
                    "kserve6");
  ASSERT_TRUE(WaitFor("ip netns exec " + ns + " ss -Htln | grep -q '\\[2001:db8::1\\]:80'")) << kserve.Err();
  RunResult load = RunTcpmax({"userland", "load", "[2001:db8::1]:80", "--connections", "3000", "--source",
                              "2001:db8:1::/120", "--netns-reuse", ns, "--verify", "500", "--json"},
                             60);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto j = nlohmann::json::parse(load.out);
  EXPECT_EQ(j["family"], "ipv6");
  EXPECT_EQ(j["established"], 3000);
  EXPECT_EQ(j["verify"]["answered"], 500);
  EXPECT_EQ(j["verify"]["lost"], 0);
  RunResult ss = RunShell("ip netns exec " + ns + " ss -Htn6 state established '( sport = :80 )' | wc -l");
  EXPECT_EQ(std::stoi(ss.out), 3000);
  RunResult peers = RunShell("ip netns exec " + ns +
                             " ss -Htn6 state established '( sport = :80 )' | grep -c '\\[2001:db8:1::'");
  EXPECT_EQ(std::stoi(peers.out), 3000) << "peers must come from the --source prefix";
  kserve.Stop(SIGINT);
  RunShell("ip netns del " + ns);
}

TEST(UserlandIpv6Test, UserlandClientAgainstUserlandServerOverIpv6) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  const std::string ns = "tmx-ul6-both";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  Background serve = StartServe6(ns, "hold");
  ASSERT_TRUE(Serve6Ready(ns)) << serve.Err();
  RunResult load = RunTcpmax({"userland", "load", "[2001:db8::1]:80,8080", "--connections", "20k", "--netns-reuse",
                              ns, "--verify", "2000", "--rate", "20k/s", "--json"},
                             90);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_NE(load.err.find("route add 2001:db8:1::/112 dev tmxl0"), std::string::npos) << load.err;
  EXPECT_NE(load.err.find("set net.ipv6.conf.all.forwarding=1 in netns " + ns), std::string::npos) << load.err;
  auto j = nlohmann::json::parse(load.out);
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  auto s = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["established"], 20000);
  EXPECT_EQ(s["established"], j["established"]);
  EXPECT_EQ(s["peer_prefixes"], 1);
  EXPECT_EQ(s["table_bytes"], s["table_capacity"].get<uint64_t>() * 18);
  EXPECT_EQ(j["verify"]["answered"], 2000);
  EXPECT_EQ(j["verify"]["reset"], 0);
  EXPECT_EQ(j["verify"]["lost"], 0);
  EXPECT_FALSE(NetnsExists(ns));
}

// The journal's undo of a route (what `tcpmax restore` replays) finds and
// deletes an IPv6 route as it does an IPv4 one.
TEST(UserlandIpv6Test, JournalUndoDeletesAnIpv6RouteAsAnIpv4One) {
  TCPMAX_REQUIRE_NET_ADMIN();
  const std::string ns = "tmx-ul6-route";
  RunShell("ip netns del " + ns + " 2>/dev/null");
  ASSERT_EQ(RunShell("ip netns add " + ns + " && ip -n " + ns + " tuntap add dev t0 mode tun && ip -n " + ns +
                     " link set t0 up && ip -n " + ns + " route add 2001:db8:1::/112 dev t0 && ip -n " + ns +
                     " route add 198.19.0.0/16 dev t0")
                .exit_code,
            0);
  for (const char* key : {"2001:db8:1::/112 dev t0", "198.19.0.0/16 dev t0"}) {
    sys::Change c{sys::ChangeKind::kRoute, ns, key, "absent", "added"};
    sys::UndoResult r = sys::UndoChange(c, std::string("added"));
    EXPECT_EQ(r.outcome, sys::Outcome::kUndone) << key << ": " << r.Describe();
    r = sys::UndoChange(c, std::string("added"));
    EXPECT_EQ(r.outcome, sys::Outcome::kAlready) << key << ": " << r.Describe();
  }
  EXPECT_EQ(RunShell("ip -n " + ns + " -6 route show 2001:db8:1::/112").out, "");
  EXPECT_EQ(RunShell("ip -n " + ns + " route show 198.19.0.0/16").out, "");
  RunShell("ip netns del " + ns);
}

}  // namespace
}  // namespace tcpmax::testing

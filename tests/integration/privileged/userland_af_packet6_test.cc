// `tcpmax userland --link af_packet` over IPv6: the classic recipe on a veth
// between two namespaces the test creates, the engine's end owning
// 2001:db8::1/64 (so its kernel answers neighbour discovery for the engine)
// and the peer's 2001:db8::2/64. Kernel IPv6 clients (python3 sockets, nc)
// echo through the engine and close cleanly while the kernel never resets
// them (tshark sees no RST and no TCP analysis flag); the user-space client
// with two engine threads a side connects over the veth and verifies; the
// ip6 rules are gone after exit.
#include <signal.h>

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

namespace tcpmax::testing {
namespace {

constexpr const char* kEngineNs = "tmx-af6-e";
constexpr const char* kPeerNs = "tmx-af6-p";
constexpr const char* kEngineIf = "tmxaf6e";
constexpr const char* kPeerIf = "tmxaf6p";

struct VethPair6 : Veth {
  VethPair6() : Veth({kEngineNs, kPeerNs, kEngineIf, kPeerIf, "2001:db8::1/64", "2001:db8::2/64"}) {}
};

std::string InEngine(const std::string& cmd) { return std::string("ip netns exec ") + kEngineNs + " " + cmd; }
std::string InPeer(const std::string& cmd) { return std::string("ip netns exec ") + kPeerNs + " " + cmd; }

Background StartEngine6(const std::string& mode, const std::string& threads, const std::string& tag) {
  return Background({"ip", "netns", "exec", kEngineNs, TCPMAX_BINARY, "userland", "serve", "--link", "af_packet",
                     "--interface", kEngineIf, "--listen", "[2001:db8::1]:80,8080", "--mode", mode, "--threads",
                     threads, "--duration", "90s", "--json"},
                    tag);
}

TEST(UserlandAfPacket6Test, KernelIpv6ClientsThroughTheRecipeWithNoKernelReset) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair6 veth;
  ASSERT_TRUE(veth.ok());
  const std::string pcap = "/tmp/tcpmax-af6-shark.pcap";
  RunShell("rm -f " + pcap);
  Background shark({"ip", "netns", "exec", kPeerNs, "tshark", "-i", kPeerIf, "-f", "ip6 and tcp", "-w", pcap, "-a",
                    "duration:60"},
                   "af6-shark");
  ASSERT_TRUE(WaitFor("grep -q 'Capturing on' /tmp/tcpmax-ul-af6-shark.err")) << shark.Err();
  Background serve = StartEngine6("echo", "1", "af6-echo");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxaf6e' /tmp/tcpmax-ul-af6-echo.err")) << serve.Err();
  std::string table = "tcpmax_" + std::to_string(serve.pid());
  RunResult rules = RunShell(InEngine("nft list table inet " + table), 10);
  EXPECT_NE(rules.out.find("ip6 daddr 2001:db8::1 tcp dport { 80, 8080 } drop"), std::string::npos) << rules.out;

  std::ofstream("/tmp/tcpmax-af6-clients.py") << EchoClientsScript("2001:db8::1", 10, 200);
  RunResult py = RunShell(InPeer("/usr/bin/python3 /tmp/tcpmax-af6-clients.py"), 60);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("ok 10"), std::string::npos) << py.out;
  RunResult nc = RunShell("echo tcpmax-nc6 | " + InPeer("timeout 5 nc -N 2001:db8::1 80"), 10);
  EXPECT_EQ(nc.out, "tcpmax-nc6\n") << nc.err;

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(serve.Stop(SIGINT), 0) << serve.Err();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  shark.Stop(SIGINT);
  auto j = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["link"], "af_packet");
  EXPECT_EQ(j["family"], "ipv6");
  EXPECT_EQ(j["accepted"], 11);
  EXPECT_EQ(j["closed"], 11);
  EXPECT_EQ(j["established"], 0);
  EXPECT_EQ(j["bytes_echoed"], j["bytes_in"]);
  EXPECT_EQ(RunShell(InEngine("nft list tables"), 10).out.find(table), std::string::npos) << "the table outlived the run";
  RunResult all = RunShell("tshark -r " + pcap + " 2>/dev/null | wc -l", 30);
  EXPECT_GE(std::stoi(all.out), 11 * 7) << "capture too small";
  RunResult rst = RunShell("tshark -r " + pcap + " -Y 'tcp.flags.reset == 1' 2>/dev/null", 30);
  EXPECT_EQ(rst.out, "") << "a RST on the wire:\n" << rst.out;
  RunResult bad = RunShell("tshark -r " + pcap + " -Y 'tcp.analysis.flags || _ws.malformed' 2>/dev/null", 30);
  EXPECT_EQ(bad.out, "") << "tshark flagged:\n" << bad.out;
}

TEST(UserlandAfPacket6Test, UserlandClientWithTwoThreadsAgainstTheEngineOverIpv6) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair6 veth;
  ASSERT_TRUE(veth.ok());
  Background serve = StartEngine6("hold", "2", "af6-threads");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxaf6e' /tmp/tcpmax-ul-af6-threads.err")) << serve.Err();
  RunResult l = RunShell(InPeer(std::string(TCPMAX_BINARY) + " userland load '[2001:db8::1]:80,8080' --link af_packet "
                                "--interface " + kPeerIf + " --connections 20k --source 2001:db8:1::/112 --verify 2000 "
                                "--threads 2 --json"),
                         90);
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.err.find("ip6 saddr 2001:db8:1::/112"), std::string::npos) << l.err;  // the client's recipe
  auto j = nlohmann::json::parse(l.out);
  EXPECT_EQ(j["family"], "ipv6");
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["established"], 20000);
  EXPECT_EQ(j["verify"]["answered"], 2000);
  EXPECT_EQ(j["verify"]["lost"], 0);
  EXPECT_EQ(j["verify"]["reset"], 0);
  EXPECT_EQ(serve.Stop(SIGINT), 0) << serve.Err();
  auto s = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(s["established"], 20000);
  EXPECT_EQ(s["threads"], 2);
  EXPECT_EQ(s["peer_prefixes"], 2);  // one per engine thread: both see the client's /96
  EXPECT_EQ(RunShell(InPeer("nft list tables"), 10).out, "") << "the client's table outlived the run";
}

}  // namespace
}  // namespace tcpmax::testing

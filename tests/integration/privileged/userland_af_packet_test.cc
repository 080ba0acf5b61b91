// `tcpmax userland serve --link af_packet`: the classic recipe on a veth
// whose address the kernel owns. Two namespaces the test creates, joined by a
// veth pair: the engine's side (198.18.0.1/24, shared with the kernel) and
// the peer's (198.18.0.2/24), where kernel clients nobody here wrote
// (python3 sockets, nc) connect, exchange data and close. tshark on the
// peer's end sees no RST at all and no TCP analysis flags; the kernel's other
// ports keep working; the nftables table is gone after exit and,
// after SIGKILL, once `tcpmax restore` replays the journal. Bad input is one
// line, exit 2, nothing installed.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
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

constexpr const char* kEngineNs = "tmx-af-e";
constexpr const char* kPeerNs = "tmx-af-p";
constexpr const char* kEngineIf = "tmxafe";
constexpr const char* kPeerIf = "tmxafp";

// The two namespaces and the veth between them; removed on destruction.
struct VethPair : Veth {
  VethPair() : Veth({kEngineNs, kPeerNs, kEngineIf, kPeerIf, "198.18.0.1/24", "198.18.0.2/24"}) {}
};

std::string InEngine(const std::string& cmd) { return std::string("ip netns exec ") + kEngineNs + " " + cmd; }
std::string InPeer(const std::string& cmd) { return std::string("ip netns exec ") + kPeerNs + " " + cmd; }

std::string EngineTables() { return RunShell(InEngine("nft list tables"), 10).out; }

Background StartEngine(const std::string& mode, const std::string& tag) {
  return Background({"ip", "netns", "exec", kEngineNs, TCPMAX_BINARY, "userland", "serve", "--link", "af_packet",
                     "--interface", kEngineIf, "--listen", "198.18.0.1:80,8080", "--mode", mode, "--duration", "90s",
                     "--json"},
                    tag);
}

TEST(UserlandAfPacketTest, KernelClientsThroughTheRecipeWithNoKernelReset) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair veth;
  ASSERT_TRUE(veth.ok());
  const std::string pcap = "/tmp/tcpmax-af-shark.pcap";
  RunShell("rm -f " + pcap);
  // A kernel server on another port of the shared address: it must keep working.
  Background kernel_server({"ip", "netns", "exec", kEngineNs, "timeout", "60", "nc", "-l", "198.18.0.1", "9000"},
                           "af-kernel");
  Background shark({"ip", "netns", "exec", kPeerNs, "tshark", "-i", kPeerIf, "-f", "tcp", "-w", pcap, "-a",
                    "duration:60"},
                   "af-shark");
  ASSERT_TRUE(WaitFor("grep -q 'Capturing on' /tmp/tcpmax-ul-af-shark.err")) << shark.Err();
  Background serve = StartEngine("echo", "af-echo");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxafe' /tmp/tcpmax-ul-af-echo.err")) << serve.Err();
  std::string table = "tcpmax_" + std::to_string(serve.pid());
  EXPECT_NE(EngineTables().find("table inet " + table), std::string::npos) << EngineTables() << serve.Err();

  std::ofstream("/tmp/tcpmax-af-clients.py") << EchoClientsScript("198.18.0.1", 20, 200);
  RunResult py = RunShell(InPeer("python3 /tmp/tcpmax-af-clients.py"), 60);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_NE(py.out.find("ok 20"), std::string::npos) << py.out;
  RunResult nc = RunShell("echo tcpmax-nc | " + InPeer("timeout 5 nc -N 198.18.0.1 80"), 10);
  EXPECT_EQ(nc.out, "tcpmax-nc\n") << nc.err;
  // The kernel still owns the address (it answered ARP for the engine) and serves its own port.
  RunResult k = RunShell("echo kernel-port | " + InPeer("timeout 5 nc -N 198.18.0.1 9000"), 10);
  EXPECT_EQ(k.exit_code, 0) << k.err;
  kernel_server.Stop(SIGTERM);
  EXPECT_EQ(kernel_server.Out(), "kernel-port\n");

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(serve.Stop(SIGINT), 0) << serve.Err();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  shark.Stop(SIGINT);
  auto j = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(j["link"], "af_packet");
  EXPECT_EQ(j["accepted"], 21);
  EXPECT_EQ(j["closed"], 21);  // every connection through LAST-ACK to CLOSED
  EXPECT_EQ(j["established"], 0);
  EXPECT_EQ(j["reset_by_peer"], 0);
  EXPECT_EQ(j["rst_sent"], 0);
  EXPECT_EQ(j["not_ours"], 0);  // the kernel-side filter let nothing else through
  EXPECT_EQ(j["bytes_echoed"], j["bytes_in"]);
  EXPECT_GT(j["bytes_in"].get<uint64_t>(), 20u * 50000u);
  EXPECT_EQ(j["link_tx_errors"], 0);
  EXPECT_NE(serve.Err().find("installed nftables table inet " + table + " in netns tmx-af-e"), std::string::npos)
      << serve.Err();
  EXPECT_NE(serve.Err().find("removed nftables table inet " + table), std::string::npos) << serve.Err();
  EXPECT_EQ(EngineTables(), "") << "the rules must be gone after exit";

  RunResult all = RunShell("tshark -r " + pcap + " -Y 'tcp.port == 80 || tcp.port == 8080' 2>/dev/null | wc -l", 30);
  EXPECT_GE(std::stoi(all.out), 21 * 7) << "capture too small";
  RunResult rst = RunShell("tshark -r " + pcap + " -Y 'tcp.flags.reset == 1' 2>/dev/null", 30);
  EXPECT_EQ(rst.out, "") << "RSTs on the wire:\n" << rst.out;
  RunResult bad = RunShell("tshark -r " + pcap + " -Y '(tcp.port == 80 || tcp.port == 8080) && "
                           "(tcp.analysis.flags || _ws.malformed)' 2>/dev/null", 30);
  EXPECT_EQ(bad.exit_code, 0);
  EXPECT_EQ(bad.out, "") << "tshark flagged:\n" << bad.out;
}

TEST(UserlandAfPacketTest, SigkillLeavesTheTableForRestoreToRemove) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair veth;
  ASSERT_TRUE(veth.ok());
  Background serve = StartEngine("hold", "af-kill");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxafe' /tmp/tcpmax-ul-af-kill.err")) << serve.Err();
  std::string table = "tcpmax_" + std::to_string(serve.pid());
  serve.Stop(SIGKILL);
  ASSERT_NE(EngineTables().find(table), std::string::npos) << "SIGKILL cannot have removed anything";
  RunResult r = RunTcpmax({"restore"}, 30);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("nft_table inet " + table + " in netns tmx-af-e: deleted"), std::string::npos) << r.out;
  EXPECT_EQ(EngineTables(), "");
}

TEST(UserlandAfPacketTest, UserlandClientOverTheVethAgainstTheEngineAndTheKernel) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair veth;
  ASSERT_TRUE(veth.ok());
  auto load = [](const std::string& target, const std::string& n, const std::string& source,
                 const std::string& threads = "1") {
    return RunShell(InPeer(std::string(TCPMAX_BINARY) + " userland load " + target + " --link af_packet --interface " +
                           kPeerIf + " --connections " + n + " --source " + source + " --verify 2000 --threads " +
                           threads + " --json"),
                    60);
  };
  // Against the user-space engine: both ends in user space, on the veth.
  Background serve = StartEngine("hold", "af-both");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxafe' /tmp/tcpmax-ul-af-both.err")) << serve.Err();
  RunResult l = load("198.18.0.1:80,8080", "20k", "198.19.0.0/20");
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto j = nlohmann::json::parse(l.out);
  EXPECT_EQ(j["link"], "af_packet");
  EXPECT_EQ(j["established"], 20000);
  EXPECT_EQ(j["verify"]["answered"], 2000);
  EXPECT_EQ(j["verify"]["lost"], 0);
  EXPECT_NE(l.err.find("ip daddr 198.19.0.0/20 ip saddr 198.18.0.1 tcp sport { 80, 8080 } tcp dport { 1024-65535 } drop"),
            std::string::npos)
      << l.err;
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  auto s = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(s["established"], 20000);  // no final ACK lost on the way
  EXPECT_EQ(RunShell(InPeer("nft list tables"), 10).out, "");

  // Against the kernel's TCP (tcpmax serve, epoll) on the engine's side, routed back over the veth.
  ASSERT_EQ(RunShell(InEngine("ip route add 198.19.0.0/16 via 198.18.0.2")).exit_code, 0);
  Background kserve({"ip", "netns", "exec", kEngineNs, TCPMAX_BINARY, "serve", "--listen", "198.18.0.1:7000",
                     "--engine", "epoll", "--duration", "60s"},
                    "af-kserve");
  ASSERT_TRUE(WaitFor(InEngine("ss -Htln | grep -q 198.18.0.1:7000")));
  RunResult k = load("198.18.0.1:7000", "3000", "198.19.1.0/24");
  ASSERT_EQ(k.exit_code, 0) << k.err;
  auto kj = nlohmann::json::parse(k.out);
  EXPECT_EQ(kj["established"], 3000);
  EXPECT_EQ(kj["verify"]["lost"], 0);
  RunResult count = RunShell(InEngine("ss -Htn state established '( sport = :7000 )' | wc -l"));
  EXPECT_EQ(std::stoi(count.out), 3000);
  kserve.Stop(SIGINT);
}

TEST(UserlandAfPacketTest, TwoEngineThreadsPerSideShareNothingAndLoseNothing) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair veth;
  ASSERT_TRUE(veth.ok());
  Background serve({"ip", "netns", "exec", kEngineNs, TCPMAX_BINARY, "userland", "serve", "--link", "af_packet",
                    "--interface", kEngineIf, "--listen", "198.18.0.1:80,8080", "--mode", "echo", "--threads", "2",
                    "--duration", "90s", "--json"},
                   "af-threads");
  ASSERT_TRUE(WaitFor("grep -q 'af_packet on tmxafe' /tmp/tcpmax-ul-af-threads.err")) << serve.Err();
  EXPECT_NE(serve.Err().find("2 engine thread(s)"), std::string::npos) << serve.Err();
  RunResult l = RunShell(InPeer(std::string(TCPMAX_BINARY) + " userland load 198.18.0.1:80,8080 --link af_packet "
                                "--interface " + kPeerIf + " --connections 30k --source 198.19.0.0/20 --verify 3000 "
                                "--threads 2 --json"),
                         60);
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto j = nlohmann::json::parse(l.out);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["established"], 30000);
  EXPECT_EQ(j["verify"]["answered"], 3000);  // every probe reached the engine that holds its connection
  EXPECT_EQ(j["verify"]["lost"], 0);
  // Kernel clients still echo and close through either engine.
  std::ofstream("/tmp/tcpmax-af-clients.py") << EchoClientsScript("198.18.0.1", 20, 200);
  RunResult py = RunShell(InPeer("python3 /tmp/tcpmax-af-clients.py"), 60);
  EXPECT_EQ(py.exit_code, 0) << py.out << py.err;
  EXPECT_EQ(serve.Stop(SIGINT), 0);
  auto s = nlohmann::json::parse(serve.Out());
  EXPECT_EQ(s["threads"], 2);
  EXPECT_EQ(s["established"], 30000);
  EXPECT_EQ(s["accepted"], 30020);
  EXPECT_EQ(s["closed"], 20);
  EXPECT_EQ(s["cookie_bad"], 0);  // no final ACK reached an engine other than its SYN's
  EXPECT_EQ(s["rst_sent"], 0);
  EXPECT_EQ(EngineTables(), "");
}

TEST(UserlandAfPacketTest, BadInputIsOneLineExitTwoAndInstallsNothing) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(WaitForRunLock());
  VethPair veth;
  ASSERT_TRUE(veth.ok());
  auto serve = [](const std::vector<std::string>& extra, const std::string& env = "") {
    std::string cmd = InEngine(env + std::string(TCPMAX_BINARY) + " userland serve --link af_packet --duration 5s");
    for (const auto& a : extra) cmd += " " + a;
    return RunShell(cmd, 30);
  };
  auto one_line = [](const RunResult& r) { return std::count(r.err.begin(), r.err.end(), '\n') == 1; };

  RunResult no_if = serve({"--interface", "nope0"});
  EXPECT_EQ(no_if.exit_code, 2);
  EXPECT_NE(no_if.err.find("--interface nope0: ENODEV"), std::string::npos) << no_if.err;
  EXPECT_TRUE(one_line(no_if)) << no_if.err;

  RunResult not_owned = serve({"--interface", kEngineIf, "--listen", "198.18.0.9:80"});
  EXPECT_EQ(not_owned.exit_code, 2);
  EXPECT_NE(not_owned.err.find("198.18.0.9 is not an address of it"), std::string::npos) << not_owned.err;
  EXPECT_TRUE(one_line(not_owned)) << not_owned.err;

  // A kernel server on the port, bound to the address and to the wildcard.
  Background exact({"ip", "netns", "exec", kEngineNs, "timeout", "30", "nc", "-l", "198.18.0.1", "80"}, "af-l80");
  Background wild({"ip", "netns", "exec", kEngineNs, "timeout", "30", "python3", "-c",
                   "import socket,time; s=socket.socket(); s.bind(('0.0.0.0', 8080)); s.listen(); time.sleep(30)"},
                  "af-l8080");
  ASSERT_TRUE(WaitFor(InEngine("ss -Htln | grep -q ':8080'")));
  ASSERT_TRUE(WaitFor(InEngine("ss -Htln | grep -q '198.18.0.1:80 '")));
  for (const char* listen : {"198.18.0.1:80", "198.18.0.1:8080"}) {
    RunResult taken = serve({"--interface", kEngineIf, "--listen", listen});
    EXPECT_EQ(taken.exit_code, 2) << listen;
    EXPECT_NE(taken.err.find("a kernel socket listens there"), std::string::npos) << taken.err;
    EXPECT_TRUE(one_line(taken)) << taken.err;
  }
  exact.Stop(SIGTERM);
  wild.Stop(SIGTERM);

  mkdir("/tmp/tcpmax-no-nft", 0755);
  RunResult no_nft = serve({"--interface", kEngineIf}, "env PATH=/tmp/tcpmax-no-nft ");
  EXPECT_EQ(no_nft.exit_code, 2);
  EXPECT_NE(no_nft.err.find("nft not found on PATH"), std::string::npos) << no_nft.err;
  EXPECT_TRUE(one_line(no_nft)) << no_nft.err;
  EXPECT_EQ(EngineTables(), "") << "bad input must install nothing";
}

TEST(UserlandAfPacketTest, FirewallPrintChangesNothingAndFlagsAreChecked) {
  RunResult p = RunTcpmax({"userland", "serve", "--link", "af_packet", "--interface", "eth-any", "--firewall", "print",
                           "--listen", "198.18.0.1:80,7000-7001"});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("table inet tcpmax {"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("ip daddr 198.18.0.1 tcp dport { 80, 7000, 7001 } drop"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("ip saddr 198.18.0.1 tcp sport { 80, 7000, 7001 } tcp flags & rst == rst drop"),
            std::string::npos)
      << p.out;
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<Case> cases = {
      {{"userland", "serve", "--link", "af_packet"}, "needs --interface"},
      {{"userland", "serve", "--interface", "veth0"}, "need --link af_packet"},
      {{"userland", "serve", "--link", "af_packet", "--interface", "veth0", "--netns", "x"}, "--link tun only"},
      {{"userland", "serve", "--link", "xdp"}, "--link"},
      {{"userland", "serve", "--link", "af_packet", "--interface", "a/b"}, "not an interface name"},
      {{"userland", "serve", "--threads", "2"}, "--threads needs --link af_packet"},
      {{"userland", "load", "198.18.0.1:80", "-n", "10", "--link", "af_packet", "--interface", "v0", "--threads", "3"},
       "a power of two"},
      {{"userland", "load", "198.18.0.1:80", "-n", "10", "--link", "af_packet", "--interface", "v0", "--source",
        "198.19.0.0/32", "--threads", "2"},
       "a power of two"},
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

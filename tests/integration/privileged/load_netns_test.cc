// EADDRNOTAVAIL for real: inside this test's own network namespace, one
// source address, one target and a 50-port ephemeral range. tcpmax load must
// open what the range allows, count every other attempt as EADDRNOTAVAIL and
// explain it. The sysctl is set inside the namespace only; the namespace is
// removed at the end.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

class Netns {
 public:
  Netns() : name_("tcpmax-load-" + std::to_string(::getpid())) {
    ok_ = RunShell("ip netns add " + name_ + " && ip netns exec " + name_ + " ip link set lo up").exit_code == 0;
  }
  ~Netns() {
    RunShell("ip netns pids " + name_ + " 2>/dev/null | xargs -r kill -9; ip netns del " + name_);
  }
  bool ok() const { return ok_; }
  std::string Exec(const std::string& cmd) const { return "ip netns exec " + name_ + " " + cmd; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(LoadNetns, TinyPortRangeGivesEaddrnotavailCountedAndExplained) {
  TCPMAX_REQUIRE_NET_ADMIN();
  Netns ns;
  ASSERT_TRUE(ns.ok()) << "ip netns add failed";
  ASSERT_EQ(RunShell(ns.Exec("sysctl -q -w net.ipv4.ip_local_port_range='40000 40049'")).exit_code, 0);
  // The host's range is untouched.
  EXPECT_EQ(RunShell("cat /proc/sys/net/ipv4/ip_local_port_range").out.find("40000"), std::string::npos);
  // A listener inside the namespace: accepts nothing; the backlog holds 50.
  std::string listener = ns.Exec(
      "python3 -c \"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',7000)); s.listen(4096); "
      "print('ready', flush=True); time.sleep(30)\"");
  std::string json_cmd = ns.Exec(std::string(TCPMAX_BINARY) +
                                 " load 127.0.0.1:7000 -n 200 --source 127.0.0.1 --engine epoll --json");
  std::string text_cmd = ns.Exec(std::string(TCPMAX_BINARY) +
                                 " load 127.0.0.1:7000 -n 100 --source 127.0.0.1 --engine uring");
  RunResult r = RunShell("(" + listener + " >/dev/null 2>&1 &) ; sleep 1; " + json_cmd + "; echo ===; " + text_cmd, 90);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t split = r.out.find("===\n");
  ASSERT_NE(split, std::string::npos) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{'), split - r.out.find('{')), nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  uint64_t opened = j["opened"].get<uint64_t>();
  EXPECT_GT(opened, 0u);
  EXPECT_LE(opened, 50u);
  ASSERT_TRUE(j["errors"].contains("EADDRNOTAVAIL")) << r.out;
  EXPECT_EQ(j["errors"]["EADDRNOTAVAIL"].get<uint64_t>(), 200u - opened);
  EXPECT_EQ(j["failed"].get<uint64_t>(), 200u - opened);
  EXPECT_NE(j["error_detail"][0]["remedy"].get<std::string>().find("--source"), std::string::npos);
  // The uring engine classifies the same failure the same way (its first run
  // closed with RST, so the range is free again).
  std::string text = r.out.substr(split);
  EXPECT_NE(text.find("EADDRNOTAVAIL x 50: no free local port for this (source address, destination) pair"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("net.ipv4.ip_local_port_range"), std::string::npos) << text;
}

}  // namespace
}  // namespace tcpmax::testing

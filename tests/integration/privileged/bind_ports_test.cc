// load --bind-ports in a namespace the test makes: each connection's source
// port is chosen (LO+k of the port range), one (source, port) serves every
// target, and every connection is established; a run that needs more ports
// per pair than the range has is refused before anything opens.
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "harness.h"

namespace tcpmax::testing {
namespace {

class Netns {
 public:
  Netns() : name_("tmx-bind-" + std::to_string(getpid())) {
    ok_ = RunShell("ip netns add " + name_ + " && ip -n " + name_ + " link set lo up").exit_code == 0;
  }
  ~Netns() { RunShell("ip netns pids " + name_ + " | xargs -r kill -9; ip netns del " + name_); }
  bool ok() const { return ok_; }
  std::string Exec(const std::string& cmd) const { return "ip netns exec " + name_ + " " + cmd; }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(BindPorts, EachSourcePortServesEveryTarget) {
  TCPMAX_REQUIRE_NET_ADMIN();
  Netns ns;
  ASSERT_TRUE(ns.ok());
  std::string bin = TCPMAX_BINARY;
  RunShell(ns.Exec(bin + " serve --listen 127.0.0.1:7100-7103 --no-watch --duration 8s > /dev/null 2>&1 &"));
  RunShell("sleep 1");
  // 2 sources x 4 targets = 8 pairs of 1,000: ports LO..LO+999 on each source.
  RunShell(ns.Exec(bin + " load 127.0.0.1:7100-7103 --source 127.1.0.1,127.1.0.2 --connections 8000 "
                         "--engine epoll --bind-ports --no-watch --hold 4s --json > /dev/null 2>&1 &"));
  RunShell("sleep 2.5");
  RunResult ss = RunShell(ns.Exec("ss -Htn state established '( dport >= :7100 and dport <= :7103 )'"));
  std::string lo = RunShell(ns.Exec("cat /proc/sys/net/ipv4/ip_local_port_range")).out;
  unsigned port_lo = std::stoul(lo);
  std::map<std::string, int> per_bind;
  std::set<unsigned> ports;
  std::istringstream in(ss.out);
  std::string line;
  int conns = 0;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string rq, sq, local, peer;
    w >> rq >> sq >> local >> peer;
    ++per_bind[local];
    ports.insert(std::stoul(local.substr(local.rfind(':') + 1)));
    ++conns;
  }
  EXPECT_EQ(conns, 8000) << ss.err;
  EXPECT_EQ(per_bind.size(), 2000u) << "one (source, port) per connection to every target";
  for (const auto& [bind, n] : per_bind) {
    ASSERT_EQ(n, 4) << bind;
  }
  ASSERT_FALSE(ports.empty());
  EXPECT_EQ(*ports.begin(), port_lo);
  EXPECT_EQ(*ports.rbegin(), port_lo + 999);
}

TEST(BindPorts, MorePerPairThanThePortRangeIsRefused) {
  RunResult r = RunTcpmax({"load", "127.0.0.1:9", "--source", "127.1.0.1", "--connections", "100000", "--bind-ports",
                           "--engine", "epoll"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--bind-ports"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace tcpmax::testing

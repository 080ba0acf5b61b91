// Exactness of `tcpmax count`: in a network namespace of its own, the test
// opens a known mix of loopback sockets (several ports; LISTEN, ESTABLISHED,
// TIME_WAIT, FIN_WAIT2, CLOSE_WAIT; IPv4, IPv6 and IPv4-mapped IPv6), then
// checks, for the netlink and /proc sources, that each filter counts exactly
// the known number and exactly what `ss` counts with the same filter.
// Needs CAP_NET_ADMIN and CAP_SYS_ADMIN (netns); the namespace is removed at
// the end.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/fd.h"
#include "harness.h"
#include "sys/netns.h"

namespace tcpmax::testing {
namespace {

constexpr int kBase = 7000;

Fd Listen(int family, const char* addr, int port) {
  Fd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1, zero = 0;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, addr, &a->sin_addr);
    len = sizeof *a;
  } else {
    setsockopt(s.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    len = sizeof *a;
  }
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << addr << ":" << port;
  EXPECT_EQ(::listen(s.get(), 128), 0);
  return s;
}

// Connects `n` clients to addr:port and accepts them on `l`.
void Connect(std::vector<Fd>& hold, int family, const char* addr, int port, int n, const Fd& l,
             const std::string& mode) {
  for (int i = 0; i < n; ++i) {
    Fd c(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss{};
    socklen_t len;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      inet_pton(AF_INET, addr, &a->sin_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      inet_pton(AF_INET6, addr, &a->sin6_addr);
      len = sizeof *a;
    }
    ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len), 0) << addr << ":" << port;
    Fd a(::accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(a.valid());
    if (mode == "est") {
      hold.push_back(std::move(c));
      hold.push_back(std::move(a));
    } else if (mode == "tw") {  // client closes first, then the server: client in TIME_WAIT
      c.Reset();
      usleep(10000);
      a.Reset();
    } else {  // "half": client closed (FIN_WAIT2), server kept (CLOSE_WAIT)
      c.Reset();
      hold.push_back(std::move(a));
    }
  }
}

class CountExact : public ::testing::Test {
 protected:
  void SetUp() override {
    TCPMAX_REQUIRE_NET_ADMIN();
    ns_ = fmt::format("tcpmax-count-{}", getpid());
    ASSERT_EQ(RunShell(fmt::format("ip netns add {} && ip -n {} link set lo up", ns_, ns_)).exit_code, 0);
    made_ = true;
    auto scope = sys::NetnsScope::Enter(ns_);
    ASSERT_TRUE(scope.has_value()) << scope.error().ToString();
    std::vector<Fd> l;
    l.push_back(Listen(AF_INET, "127.0.0.1", kBase));
    l.push_back(Listen(AF_INET, "127.0.0.1", kBase + 1));
    l.push_back(Listen(AF_INET, "127.0.0.1", kBase + 2));
    l.push_back(Listen(AF_INET6, "::1", kBase));
    l.push_back(Listen(AF_INET6, "::1", kBase + 3));
    l.push_back(Listen(AF_INET6, "::", kBase + 4));  // dual stack
    Connect(hold_, AF_INET, "127.0.0.1", kBase, 5, l[0], "est");
    Connect(hold_, AF_INET, "127.0.0.1", kBase + 1, 3, l[1], "est");
    Connect(hold_, AF_INET, "127.0.0.1", kBase + 2, 4, l[2], "tw");
    Connect(hold_, AF_INET, "127.0.0.1", kBase + 1, 2, l[1], "half");
    Connect(hold_, AF_INET6, "::1", kBase + 3, 3, l[4], "est");
    Connect(hold_, AF_INET6, "::1", kBase, 2, l[3], "tw");
    Connect(hold_, AF_INET, "127.0.0.1", kBase + 4, 2, l[5], "est");  // server ends are ::ffff:127.0.0.1
    for (Fd& f : l) hold_.push_back(std::move(f));
  }

  void TearDown() override {
    hold_.clear();
    if (made_) RunShell(fmt::format("ip netns del {}", ns_));
  }

  uint64_t Tcpmax(const std::vector<std::string>& flags, const std::string& source, nlohmann::json* out = nullptr) {
    std::vector<std::string> args{"count", "--json", "--netns", ns_, "--source", source};
    args.insert(args.end(), flags.begin(), flags.end());
    RunResult r = RunTcpmax(args, 30);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "not JSON: " << r.out;
      return ~0ull;
    }
    EXPECT_EQ(j["source"], source);
    if (out) *out = j;
    return j["total"].get<uint64_t>();
  }

  uint64_t Ss(const std::string& args) {
    RunResult r = RunShell(fmt::format("ip netns exec {} ss -Htan {} | wc -l", ns_, args), 30);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::stoull(r.out);
  }

  std::string ns_;
  bool made_ = false;
  std::vector<Fd> hold_;
};

struct Case {
  std::vector<std::string> flags;
  std::string ss;
  uint64_t want;
};

TEST_F(CountExact, EveryFilterMatchesKnownNumbersAndSsForBothSources) {
  const std::vector<Case> cases = {
      {{}, "", 42},
      {{"--lport", "7000-7004"}, "'( sport >= :7000 and sport <= :7004 )'", 21},
      {{"--rport", "7000-7004"}, "'( dport >= :7000 and dport <= :7004 )'", 21},
      {{"--lport", "7000,7003", "--rport", "30000-65535"},
       "'( ( sport = :7000 or sport = :7003 ) and dport >= :30000 )'", 8},
      {{"--state", "established,time-wait"}, "state established state time-wait", 32},
      {{"--classic", "--lport", "7000-7001"}, "state established state time-wait '( sport >= :7000 and sport <= :7001 )'", 8},
      {{"--src", "127.0.0.0/8"}, "src 127.0.0.0/8", 31},
      {{"--src", "::1"}, "src '[::1]'", 10},
      {{"--dst", "127.0.0.1/32", "--state", "established"}, "state established dst 127.0.0.1", 20},
      {{"-6", "--state", "listen"}, "-6 state listening", 3},
      {{"-4"}, "-4", 29},
      {{"-6", "--state", "time-wait"}, "-6 state time-wait", 2},
      {{"--lport", "7001", "--state", "close-wait"}, "state close-wait sport = :7001", 2},
      {{"--rport", "7001", "--state", "fin-wait-2"}, "state fin-wait-2 dport = :7001", 2},
      {{"--lport", "1-6999"}, "'( sport >= :1 and sport <= :6999 )'", 0},
      {{"--lport", "7000", "-6"}, "-6 sport = :7000", 1},  // single ports go in the request id
      {{"--rport", "7004"}, "dport = :7004", 2},
      {{"--lport", "7000", "--rport", "30000-65535", "--src", "127.0.0.1"},
       "'( sport = :7000 and dport >= :30000 )' src 127.0.0.1", 5},
  };
  for (const Case& c : cases) {
    std::string what = fmt::format("flags [{}]", fmt::join(c.flags, " "));
    EXPECT_EQ(Ss(c.ss), c.want) << "ss " << c.ss;
    EXPECT_EQ(Tcpmax(c.flags, "netlink"), c.want) << what << " netlink";
    EXPECT_EQ(Tcpmax(c.flags, "proc"), c.want) << what << " proc";
  }
}

TEST_F(CountExact, StatesAndAggregationAgreeAcrossSources) {
  nlohmann::json nl, proc;
  Tcpmax({"--by", "lport", "--top", "3"}, "netlink", &nl);
  Tcpmax({"--by", "lport", "--top", "3"}, "proc", &proc);
  EXPECT_EQ(nl["states"], proc["states"]);
  EXPECT_EQ(nl["states"]["established"], 26);
  EXPECT_EQ(nl["states"]["time-wait"], 6);
  EXPECT_EQ(nl["states"]["listen"], 6);
  EXPECT_EQ(nl["states"]["close-wait"], 2);
  EXPECT_EQ(nl["states"]["fin-wait-2"], 2);
  EXPECT_EQ(nl["ipv6"], 13);
  EXPECT_EQ(nl["groups"], proc["groups"]);
  ASSERT_EQ(nl["groups"].size(), 3u);
  EXPECT_EQ(nl["groups"][0]["key"], "7000");
  EXPECT_EQ(nl["groups"][0]["count"], 7);
}

TEST_F(CountExact, ClassicPrintsOneNumber) {
  RunResult r = RunTcpmax({"count", "--classic", "--netns", ns_}, 30);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "32\n");
}

}  // namespace
}  // namespace tcpmax::testing

// `tcpmax count` as a user runs it: bad input is one line and exit 2; a
// recorded netlink dump replays to known numbers; --watch prints one line per
// interval, and with --json one
// tcpmax.count/1 document per sample; a live count sees a listener this test opens on loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "core/fd.h"
#include "harness.h"

namespace tcpmax::testing {
namespace {

std::string Mix() { return std::string(TCPMAX_TEST_DATA) + "/netlink/mix.nlrec"; }

void ExpectUsageError(const std::vector<std::string>& args, const std::string& needle) {
  RunResult r = RunTcpmax(args);
  EXPECT_EQ(r.exit_code, 2) << fmt::format("{}", fmt::join(args, " "));
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(CountCli, BadInputIsOneLineAndExit2) {
  ExpectUsageError({"count", "--lport", "10-5"}, "10 is above 5");
  ExpectUsageError({"count", "--lport", "70000"}, "'70000' is not a port range");
  ExpectUsageError({"count", "--rport", "x"}, "--rport");
  ExpectUsageError({"count", "--state", "bogus"}, "unknown state 'bogus'");
  ExpectUsageError({"count", "--netns", "tcpmax-no-such-ns"}, "--netns");
  ExpectUsageError({"count", "--netns", "../etc"}, "--netns");
  ExpectUsageError({"count", "--by", "color"}, "unknown key 'color'");
  ExpectUsageError({"count", "--src", "300.1.1.1"}, "--src");
  ExpectUsageError({"count", "--source", "carrier-pigeon"}, "--source");
  ExpectUsageError({"count", "--watch", "soon"}, "--watch");
  ExpectUsageError({"count", "-4", "-6"}, "exclude");
  ExpectUsageError({"count", "--frobnicate"}, "frobnicate");
}

TEST(CountCli, ReplayOfRecordedMixGivesKnownNumbers) {
  RunResult r = RunTcpmax({"count", "--replay", Mix(), "--json", "--lport", "7000-7004"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["total"], 21);
  EXPECT_EQ(j["states"]["listen"], 6);
  EXPECT_EQ(j["states"]["established"], 13);
  EXPECT_EQ(j["states"]["close-wait"], 2);
  EXPECT_EQ(j["schema"], "tcpmax.count/1");
  EXPECT_EQ(j["query"]["lports"], (nlohmann::json{{7000, 7004}}));
  EXPECT_EQ(j["source"], "netlink");

  r = RunTcpmax({"count", "--replay", Mix(), "--classic"});
  EXPECT_EQ(r.out, "32\n");

  r = RunTcpmax({"count", "--replay", Mix(), "--by", "raddr", "--top", "1"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("TCP sockets: 42"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top 1 of 5 by raddr"), std::string::npos) << r.out;
}

TEST(CountCli, WatchPrintsOneLinePerInterval) {
  RunResult r = RunTcpmax({"count", "--watch", "100ms", "--iterations", "3", "--lport", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
  EXPECT_NE(r.out.find("total 0 (0)"), std::string::npos) << r.out;
}

TEST(CountCli, WatchJsonIsOneDocumentPerSampleWithTimeAndDelta) {
  RunResult r = RunTcpmax({"count", "--replay", Mix(), "--watch", "50ms", "--iterations", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["schema"], "tcpmax.count/1");
    EXPECT_EQ(j["total"], 42);
    EXPECT_EQ(j["total_delta"], 0);  // the same recording each time
    EXPECT_GT(j["time_unix_seconds"].get<int64_t>(), 1700000000);
    ++samples;
  }
  EXPECT_EQ(samples, 2) << r.out;
}

TEST(CountCli, LiveCountSeesOurListenerOnBothSources) {
  Fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f0000fe);  // 127.0.0.254, port chosen by the kernel
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(l.get(), 8), 0);
  socklen_t len = sizeof a;
  getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len);
  std::string port = std::to_string(ntohs(a.sin_port));
  for (const char* source : {"netlink", "proc"}) {
    RunResult r = RunTcpmax({"count", "--json", "--source", source, "--lport", port, "--src", "127.0.0.254"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["total"], 1) << source;
    EXPECT_EQ(j["states"]["listen"], 1) << source;
  }
}

}  // namespace
}  // namespace tcpmax::testing

// tcpmax probe --proto ws --tls: the climb holds WebSocket-over-TLS sessions
// (its own serve and load shards, epoll; then parked TLS on io_uring), verifies them with the kernel's
// count, and measures what a session costs in user space on each side; and
// the refusals of the session flags. It takes the run lock like every probe,
// so it waits for other tcpmax runs on the box first.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "run_lock_wait.h"

namespace tcpmax::testing {
namespace {

TEST(ProbeSessions, ClimbsWithTlsWebSocketSessionsAndMeasuresTheirCost) {
  ASSERT_TRUE(WaitForRunLock()) << "another tcpmax run held the run lock for 10 minutes";
  uint16_t port = UnusedLoopbackPort();
  RunResult r = RunTcpmax({"probe", "--target", "2000", "--proto", "ws", "--tls", "--first-port", std::to_string(port),
                           "--timeout", "2m", "--json"},
                          180);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_TRUE(j["result"]["target_reached"].get<bool>()) << r.out;
  EXPECT_TRUE(j["result"]["verification"]["ok"].get<bool>()) << r.out;
  EXPECT_EQ(j["result"]["verification"]["server_established"].get<uint64_t>(), 2000u);
  // A TLS session costs kilobytes per side where a bare connection costs
  // tens of bytes (bench/RESULTS.md): the sessions were really there.
  EXPECT_GT(j["memory"]["user_bytes_per_connection_serve"].get<double>(), 4000.0) << j["memory"].dump();
  EXPECT_GT(j["memory"]["user_bytes_per_connection_load"].get<double>(), 4000.0) << j["memory"].dump();
  EXPECT_NE(r.out.find("sessions: WebSocket over TLS"), std::string::npos) << r.out;  // the plan says what ran
}

// --tls-park: the same climb with idle TLS 1.3 sessions parked on both sides
// (the SSL object freed, the traffic keys kept), on io_uring direct
// descriptors (--engine uring: one process a side): every connection verified.
TEST(ProbeSessions, ClimbsWithParkedTlsSessionsOnIoUring) {
  ASSERT_TRUE(WaitForRunLock()) << "another tcpmax run held the run lock for 10 minutes";
  uint16_t port = UnusedLoopbackPort();
  RunResult r = RunTcpmax({"probe", "--target", "2000", "--tls", "--tls-park", "--engine", "uring", "--first-port", std::to_string(port),
                           "--timeout", "2m", "--json"},
                          180);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_TRUE(j["result"]["target_reached"].get<bool>()) << r.out;
  EXPECT_TRUE(j["result"]["verification"]["ok"].get<bool>()) << r.out;
  EXPECT_EQ(j["result"]["verification"]["server_established"].get<uint64_t>(), 2000u);
  EXPECT_NE(r.out.find("serve uring, load uring; sessions: raw over TLS (idle sessions parked)"), std::string::npos) << r.out;
}

TEST(ProbeSessions, SessionFlagRefusalsAreOneLineExit2) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {{"probe", "--target", "10", "--proto", "quic"}, "--proto 'quic'"},
           {{"probe", "--target", "10", "--tls-release-buffers"}, "needs --tls"},
           {{"probe", "--target", "10", "--tls-park"}, "--tls-park needs --tls"},
           {{"probe", "--tls", "--server", "127.0.0.1:1"}, "not with --server"},
       }) {
    RunResult r = RunTcpmax(c.args, 30);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace tcpmax::testing

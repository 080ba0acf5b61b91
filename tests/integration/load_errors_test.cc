// tcpmax load against small listeners this test opens itself: errors
// classified and explained (ECONNREFUSED, EMFILE), passing the fd limit
// (uring rings, epoll shards), echo round trips, JSON interfaces, SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

// A loopback listener on an ephemeral port with a deep backlog. Without
// Serve() nobody accepts: the kernel still completes handshakes into the
// backlog, which is all a hold test of a few thousand connections needs.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 4096), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

  // Accepts and echoes everything back, on a thread, until destroyed.
  void Echo() {
    thread_ = std::thread([this] {
      int ep = ::epoll_create1(EPOLL_CLOEXEC);
      epoll_event ev{EPOLLIN, {.fd = fd_}};
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd_, &ev);
      epoll_event events[64];
      char buf[4096];
      while (!stop_) {
        int n = ::epoll_wait(ep, events, 64, 50);
        for (int i = 0; i < n; ++i) {
          int fd = events[i].data.fd;
          if (fd == fd_) {
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            epoll_event cev{EPOLLIN, {.fd = c}};
            ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
            continue;
          }
          ssize_t got = ::recv(fd, buf, sizeof buf, 0);
          if (got <= 0) {
            ::close(fd);
          } else {
            ssize_t sent = ::send(fd, buf, static_cast<size_t>(got), MSG_NOSIGNAL);
            (void)sent;
          }
        }
      }
      ::close(ep);
    });
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

nlohmann::json Json(const RunResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "stdout: " << r.out << "\nstderr: " << r.err;
  return j;
}

uint64_t ErrorCount(const nlohmann::json& j, const char* key) {
  return j["errors"].contains(key) ? j["errors"][key].get<uint64_t>() : 0;
}

TEST(LoadErrors, ClosedPortIsConnRefusedCountedAndExplained) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  for (const char* engine : {"epoll", "uring"}) {
    RunResult r = RunTcpmax({"load", target, "-n", "50", "--engine", engine, "--json"}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = Json(r);
    EXPECT_EQ(j["opened"].get<uint64_t>(), 0u) << engine;
    EXPECT_EQ(j["failed"].get<uint64_t>(), 50u) << engine;
    EXPECT_EQ(ErrorCount(j, "ECONNREFUSED"), 50u) << engine;
    ASSERT_EQ(j["error_detail"].size(), 1u);
    EXPECT_NE(j["error_detail"][0]["meaning"].get<std::string>().find("nothing is listening"), std::string::npos);
  }
  RunResult text = RunTcpmax({"load", target, "-n", "10", "--engine", "epoll"}, 60);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("ECONNREFUSED x 10: the target answered the SYN with a reset"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("remedy: start the server"), std::string::npos) << text.out;
}

TEST(LoadErrors, LowFdLimitIsEmfileWithTheRemedy) {
  Listener l;
  RunResult r = RunShell("ulimit -n 100 && exec " TCPMAX_BINARY " load " + l.target() +
                         " -n 300 --engine epoll --processes 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Json(r);
  uint64_t emfile = ErrorCount(j, "EMFILE");
  EXPECT_GT(emfile, 150u);
  EXPECT_LT(j["opened"].get<uint64_t>(), 100u);
  EXPECT_EQ(j["opened"].get<uint64_t>() + j["failed"].get<uint64_t>(), 300u);
  EXPECT_EQ(j["failed"].get<uint64_t>(), emfile);
  RunResult text = RunShell("ulimit -n 100 && exec " TCPMAX_BINARY " load " + l.target() +
                            " -n 300 --engine epoll --processes 1");
  EXPECT_NE(text.out.find("EMFILE x "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("remedy: raise the soft limit up to the hard one (ulimit -n"), std::string::npos) << text.out;
}

TEST(LoadErrors, UringRingsPassTheFdLimitInOneProcess) {
  Listener l;
  // 100 descriptors, 1,000 connections: each ring's table holds <= 100.
  RunResult r = RunShell("ulimit -n 100 && exec " TCPMAX_BINARY " load " + l.target() +
                         " -n 1000 --engine uring --processes 1 --workers 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["opened"].get<uint64_t>(), 1000u) << r.out;
  EXPECT_EQ(j["held"].get<uint64_t>(), 1000u);
  EXPECT_EQ(j["failed"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["processes"].get<int>(), 1);
}

TEST(LoadErrors, EpollShardsPassTheFdLimitAndSum) {
  Listener l;
  // 200 descriptors: 1,000 connections need ceil(1000 / 136) = 8 processes.
  RunResult r = RunShell("ulimit -n 200 && exec " TCPMAX_BINARY " load " + l.target() +
                         " -n 1000 --engine epoll --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["processes"].get<int>(), 8);
  EXPECT_EQ(j["opened"].get<uint64_t>(), 1000u) << r.out;
  EXPECT_EQ(j["failed"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["connect_time"]["count"].get<uint64_t>(), 1000u);  // histograms summed over shards
  EXPECT_GT(j["rss_bytes"].get<uint64_t>(), 8u * 100'000u);      // RSS summed over 8 processes
}

TEST(LoadEcho, PingRoundTripsAreCorrectOnBothEngines) {
  Listener l;
  l.Echo();
  for (const char* engine : {"epoll", "uring"}) {
    RunResult r = RunTcpmax(
        {"load", l.target(), "-n", "200", "--engine", engine, "--ping", "100ms", "--hold", "1s", "--json"}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = Json(r);
    EXPECT_EQ(j["held"].get<uint64_t>(), 200u) << engine;
    EXPECT_GE(j["pings_sent"].get<uint64_t>(), 200u * 5) << engine;
    EXPECT_GE(j["pongs"].get<uint64_t>(), 200u * 4) << engine;
    EXPECT_LE(j["pongs"].get<uint64_t>(), j["pings_sent"].get<uint64_t>()) << engine;
    EXPECT_EQ(j["pongs_bad"].get<uint64_t>(), 0u) << engine;
    EXPECT_EQ(j["rtt"]["count"].get<uint64_t>(), j["pongs"].get<uint64_t>()) << engine;
    EXPECT_GT(j["rtt"]["p50_ns"].get<uint64_t>(), 0u) << engine;
  }
}

TEST(LoadInterface, ProgressJsonLinesAndDone) {
  Listener l;
  RunResult r = RunTcpmax({"load", l.target(), "-n", "500", "--rate", "1000/s", "--hold", "300ms", "--interval",
                           "100ms", "--progress-json", "--engine", "epoll"},
                          60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.err);
  std::string line;
  int progress = 0, done = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not JSON: " << line;
    for (const char* key : {"t_seconds", "target", "opened", "held", "failed", "rate_per_second", "errors", "rss_bytes"}) {
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    }
    EXPECT_EQ(j["target"].get<uint64_t>(), 500u);
    if (j["type"] == "progress") ++progress;
    if (j["type"] == "done") {
      ++done;
      EXPECT_EQ(j["opened"].get<uint64_t>(), 500u);
    }
  }
  EXPECT_GE(progress, 3);  // paced at 1000/s: about half a second of ramp
  EXPECT_EQ(done, 1);
  EXPECT_NE(r.out.find("opened    500 of 500"), std::string::npos) << r.out;
}

TEST(LoadInterface, SigtermStopsHoldForeverAndPrintsWhatWasReached) {
  Listener l;
  RunResult r = RunShell("timeout --preserve-status -s TERM 2 " TCPMAX_BINARY " load " + l.target() +
                         " -n 300 --hold forever --json --engine uring");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = Json(r);
  EXPECT_TRUE(j["interrupted"].get<bool>());
  EXPECT_EQ(j["held"].get<uint64_t>(), 300u);
}

TEST(LoadInterface, ClosesWithRstLeavingNoClientSocketBehind) {
  // A plain close() would leave FIN_WAIT_2 orphans (nobody accepts, so the
  // server never answers with its FIN) or TIME_WAIT; SO_LINGER 0 leaves none.
  for (const char* engine : {"epoll", "uring"}) {
    Listener l;
    RunResult r = RunTcpmax({"load", l.target(), "-n", "300", "--engine", engine, "--json"}, 60);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Json(r)["opened"].get<uint64_t>(), 300u);
    std::string port = l.target().substr(l.target().find(':') + 1);
    uint64_t left = 0;
    for (int i = 0; i < 30; ++i) {  // io_uring releases its sockets shortly after the process exits
      RunResult c = RunTcpmax({"count", "--rport", port, "--state", "all", "--json"}, 30);
      auto j = nlohmann::json::parse(c.out, nullptr, false);
      ASSERT_TRUE(j.is_object()) << c.out << c.err;
      left = j["total"].get<uint64_t>();
      if (left == 0) break;
      ::usleep(100'000);
    }
    EXPECT_EQ(left, 0u) << engine;
  }
}

TEST(LoadInterface, BadFlagsAreOneLineUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* needle;
  } cases[] = {
      {{"load", "127.0.0.1:notaport", "-n", "10"}, "bad target"},
      {{"load", "127.0.0.1:7000", "-n", "ten"}, "--connections"},
      {{"load", "127.0.0.1:7000", "-n", "10", "--engine", "dpdk"}, "--engine"},
      {{"load", "127.0.0.1:7000", "-n", "10", "--hold", "soon"}, "--hold"},
      {{"load", "127.0.0.1:7000", "-n", "10", "--source", "::1"}, "--source"},
      {{"load", "127.0.0.1:7000-6000", "-n", "10"}, "bad target"},
      {{"load", "-n", "10"}, "target"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTcpmax(c.args, 30);
    EXPECT_EQ(r.exit_code, 2) << c.needle;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  }
}

// A target outside loopback is someone's server: a run there is always bounded
// in time, refused before anything is sent (198.18.0.1 is never contacted).
TEST(LoadSafety, HoldForeverOutsideLoopbackIsRefusedBeforeAnythingIsSent) {
  RunResult r = RunTcpmax({"load", "198.18.0.1:80", "-n", "1", "--hold", "forever"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--hold forever: refused for a target outside loopback"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace tcpmax::testing

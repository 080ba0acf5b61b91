// tcpmax serve holding many connections: io_uring direct descriptors take one
// process past RLIMIT_NOFILE (20000 here); epoll holds and counts closes;
// SIGTERM/SIGINT stop cleanly with a summary and nothing left listening.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

bool PortRefuses(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool refused = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
  close(fd);
  return refused;
}

TEST(ServeHold, UringOneProcessHoldsMoreThanTheFdLimit) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const int kConns = 25000;
  ASSERT_LT(rl.rlim_max, static_cast<rlim_t>(kConns)) << "the test must exceed the hard fd limit to mean anything";
  ServeProcess serve({"--engine", "uring", "--workers", "1", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  EXPECT_EQ(serve.ready()["engine"], "uring");
  {
    HeldClients clients(serve.port(), kConns, 5);
    ASSERT_EQ(clients.WaitOpened(60), kConns);
    nlohmann::json p = serve.WaitHeld(kConns, 30);
    ASSERT_FALSE(p.is_null()) << serve.stderr_text();
    EXPECT_EQ(p["held"], kConns);
    EXPECT_GE(p["rings"].get<int>(), 2) << "one ring's table holds at most the fd limit";
    EXPECT_GT(p["rss_bytes"].get<uint64_t>(), 0u);
    ASSERT_EQ(serve.Stop(SIGTERM), 0);
  }
  const nlohmann::json& s = serve.summary();
  ASSERT_TRUE(s.is_object()) << serve.stderr_text();
  EXPECT_EQ(s["held"], kConns);
  EXPECT_EQ(s["accepted"], kConns);
  EXPECT_EQ(s["table_full"], 0);
  EXPECT_EQ(s["stop_reason"], "SIGTERM");
  EXPECT_TRUE(s["errors"].empty()) << s.dump();
  // The design target: at most 64 bytes of user space per held connection.
  EXPECT_LE(s["user_bytes_per_held"].get<double>(), 64.0) << s.dump();
  EXPECT_TRUE(PortRefuses(serve.port()));
}

TEST(ServeHold, EpollCountsPeerClosesAndStopsOnSigint) {
  const int kConns = 6000;
  ServeProcess serve({"--engine", "epoll", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  EXPECT_EQ(serve.ready()["engine"], "epoll");
  {
    HeldClients clients(serve.port(), kConns, 3);
    ASSERT_EQ(clients.WaitOpened(60), kConns);
    ASSERT_FALSE(serve.WaitHeld(kConns, 30).is_null()) << serve.stderr_text();
  }  // the clients exit: every connection ends with RST
  nlohmann::json p;
  for (int i = 0; i < 100; ++i) {
    p = serve.NextProgress(5);
    ASSERT_FALSE(p.is_null());
    if (p["closed"] == kConns) break;
  }
  EXPECT_EQ(p["held"], 0);
  EXPECT_EQ(p["closed"], kConns);
  ASSERT_EQ(serve.Stop(SIGINT), 0);
  const nlohmann::json& s = serve.summary();
  EXPECT_EQ(s["stop_reason"], "SIGINT");
  EXPECT_EQ(s["accepted"], kConns);
  EXPECT_EQ(s["resets"], kConns);
  EXPECT_EQ(s["peak_held"], kConns);
  EXPECT_TRUE(s["errors"].empty()) << s.dump();
  EXPECT_TRUE(PortRefuses(serve.port()));
}

TEST(ServeHold, MaxConnsHoldsTheLimitAndResetsTheRest) {
  for (const char* engine : {"epoll", "uring"}) {
    ServeProcess serve({"--engine", engine, "--max-conns", "100", "--listen", "127.0.0.1:0"});
    ASSERT_TRUE(serve.ok()) << serve.stderr_text();
    HeldClients clients(serve.port(), 150, 1);
    clients.WaitOpened(30);
    ASSERT_FALSE(serve.WaitHeld(100, 30).is_null()) << engine;
    ASSERT_EQ(serve.Stop(SIGTERM), 0);
    const nlohmann::json& s = serve.summary();
    EXPECT_EQ(s["held"], 100) << engine << " " << s.dump();
    EXPECT_GE(s["rejected"].get<int>(), 1) << engine << " " << s.dump();
  }
}

}  // namespace
}  // namespace tcpmax::testing

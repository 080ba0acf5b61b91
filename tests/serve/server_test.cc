// Server in-process, both engines: accept, count closes, stop with RST.
#include "serve/server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "serve/listener.h"
#include "sys/uring_support.h"

namespace tcpmax::serve {
namespace {

// Polls `done` for up to 10 s.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

Fd Connect(const Endpoint& ep) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_storage ss{};
  socklen_t len = ep.ToSockaddr(&ss);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return Fd();
  return fd;
}

class ServerTest : public ::testing::TestWithParam<Engine> {};

TEST_P(ServerTest, CountsAcceptsAndClosesAndResetsOnStop) {
  ServeOptions o;
  o.listen = *ParseListenSpec("127.0.0.1:0");
  o.engine = GetParam();
  o.workers = 2;
  auto server = Server::Start(o);
  ASSERT_TRUE(server.has_value()) << server.error().ToString();
  ASSERT_EQ((*server)->endpoints().size(), 1u);
  Endpoint ep = (*server)->endpoints()[0];
  EXPECT_NE(ep.port, 0);

  std::vector<Fd> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(Connect(ep));
    ASSERT_TRUE(clients.back().valid());
    ASSERT_EQ(write(clients.back().get(), "data", 4), 4);  // hold mode reads and discards
  }
  ASSERT_TRUE(Eventually([&] { return (*server)->Snapshot().accepted == 50; }));
  for (int i = 0; i < 10; ++i) clients[i].Reset();  // FIN from the client
  ASSERT_TRUE(Eventually([&] { return (*server)->Snapshot().closed == 10; }));
  ServeSnapshot s = (*server)->Snapshot();
  EXPECT_EQ(s.held(), 40u);
  EXPECT_EQ(s.errors.Total(), 0u);
  EXPECT_EQ(s.rings, GetParam() == Engine::kUring ? 2u : 0u);  // one per worker

  (*server)->Stop();
  // Every held connection was reset (SO_LINGER 0): no FIN, no TIME_WAIT.
  for (size_t i = 10; i < clients.size(); ++i) {
    pollfd p{clients[i].get(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1);
    char c;
    EXPECT_EQ(read(clients[i].get(), &c, 1), -1);
    EXPECT_EQ(errno, ECONNRESET);
  }
  // Nothing listens any more.
  EXPECT_FALSE(Connect(ep).valid());
}

TEST_P(ServerTest, AddressInUseIsAnErrorNamingIt) {
  ServeOptions o;
  o.listen = *ParseListenSpec("127.0.0.1:0");
  o.engine = GetParam();
  auto first = Server::Start(o);
  ASSERT_TRUE(first.has_value());
  o.listen = (*first)->endpoints();
  auto second = Server::Start(o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, EADDRINUSE);
  EXPECT_NE(second.error().ToString().find(o.listen[0].ToString()), std::string::npos);
}

TEST_P(ServerTest, PortIsFreeTheMomentStopReturns) {
  ServeOptions o;
  o.listen = *ParseListenSpec("127.0.0.1:0,127.0.0.1:0");
  o.engine = GetParam();
  o.workers = 2;
  for (int round = 0; round < 5; ++round) {
    auto server = Server::Start(o);
    ASSERT_TRUE(server.has_value()) << "round " << round << ": " << server.error().ToString();
    o.listen = (*server)->endpoints();
    std::vector<Fd> clients;
    for (int i = 0; i < 200; ++i) clients.push_back(Connect(o.listen[i % 2]));
    ASSERT_TRUE(Eventually([&] { return (*server)->Snapshot().accepted == 200; }));
    (*server)->Stop();
    for (const Endpoint& ep : o.listen) {
      auto free = ReserveEndpoint(ep);  // a plain bind: fails while anything still listens
      EXPECT_TRUE(free.has_value()) << "round " << round << ": " << free.error().ToString();
    }
  }
}

std::vector<Engine> Engines() {
  std::vector<Engine> e{Engine::kEpoll};
  if (sys::DetectUring().ok()) e.push_back(Engine::kUring);
  return e;
}

INSTANTIATE_TEST_SUITE_P(Engines, ServerTest, ::testing::ValuesIn(Engines()),
                         [](const auto& info) { return std::string(EngineName(info.param)); });

}  // namespace
}  // namespace tcpmax::serve

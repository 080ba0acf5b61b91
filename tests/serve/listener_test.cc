// --listen parsing and listener setup.
#include "serve/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace tcpmax::serve {
namespace {

TEST(ParseListenSpec, SingleEndpoint) {
  auto r = ParseListenSpec("127.0.0.1:7000");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].ToString(), "127.0.0.1:7000");
}

TEST(ParseListenSpec, PortRangeExpands) {
  auto r = ParseListenSpec("127.0.0.1:7000-7015");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 16u);
  EXPECT_EQ(r->front().port, 7000);
  EXPECT_EQ(r->back().port, 7015);
}

TEST(ParseListenSpec, MixesIpv4AndIpv6) {
  auto r = ParseListenSpec("127.0.0.2:80,[::1]:7000-7001");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_FALSE((*r)[0].ip.is_v6());
  EXPECT_TRUE((*r)[1].ip.is_v6());
  EXPECT_EQ((*r)[2].ToString(), "[::1]:7001");
}

TEST(ParseListenSpec, RejectsBadInputNamingIt) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"127.0.0.1", "expected ADDR:PORT"},
      {"127.0.0.1:70000", "'70000' is not a port"},
      {"127.0.0.1:7005-7000", "reversed port range"},
      {"300.1.1.1:80", "not an IP address"},
      {"127.0.0.1:80,,127.0.0.1:81", "empty item"},
      {"127.0.0.1:80,127.0.0.1:80", "appears twice"},
      {"::1:80", "expected ADDR:PORT"},
      {"127.0.0.1:x", "not a port"},
  };
  for (const Case& c : cases) {
    auto r = ParseListenSpec(c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().context.find(c.says), std::string::npos) << c.text << " -> " << r.error().context;
    EXPECT_EQ(r.error().context.find('\n'), std::string::npos);
  }
}

TEST(Listener, ReservePortZeroGivesARealPortAndListenersShareIt) {
  auto ep = ReserveEndpoint(ParseListenSpec("127.0.0.1:0")->front());
  ASSERT_TRUE(ep.has_value()) << ep.error().ToString();
  EXPECT_NE(ep->port, 0);
  auto a = OpenListener(*ep, 16);
  auto b = OpenListener(*ep, 16);  // SO_REUSEPORT: a second worker's listener
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  // Someone else (without SO_REUSEPORT) cannot take it, and we see it as taken.
  auto again = ReserveEndpoint(*ep);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, EADDRINUSE);
  EXPECT_NE(again.error().ToString().find("listen " + ep->ToString()), std::string::npos);
}

TEST(Listener, AcceptedSocketsInheritLingerZero) {
  auto ep = ReserveEndpoint(ParseListenSpec("127.0.0.1:0")->front());
  ASSERT_TRUE(ep.has_value());
  auto l = OpenListener(*ep, 16);
  ASSERT_TRUE(l.has_value());
  Fd c(socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_storage ss{};
  socklen_t len = ep->ToSockaddr(&ss);
  ASSERT_EQ(connect(c.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);
  Fd a(accept(l->get(), nullptr, nullptr));
  ASSERT_TRUE(a.valid());
  linger lg{};
  socklen_t lglen = sizeof lg;
  ASSERT_EQ(getsockopt(a.get(), SOL_SOCKET, SO_LINGER, &lg, &lglen), 0);
  EXPECT_EQ(lg.l_onoff, 1);
  EXPECT_EQ(lg.l_linger, 0);
}

TEST(Listener, SomaxconnIsPositive) { EXPECT_GT(Somaxconn(), 0); }

}  // namespace
}  // namespace tcpmax::serve

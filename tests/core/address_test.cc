#include "core/address.h"

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

TEST(ParseIp, V4AndV6) {
  auto a = ParseIp("127.0.0.5");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->v4(), 0x7f000005u);
  EXPECT_TRUE(a->IsLoopback());
  auto b = ParseIp("::1");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->is_v6());
  EXPECT_TRUE(b->IsLoopback());
  EXPECT_EQ(b->ToString(), "::1");
  EXPECT_FALSE(ParseIp("300.1.1.1"));
  EXPECT_FALSE(ParseIp("example"));
}

TEST(ParseEndpoint, Forms) {
  auto e = ParseEndpoint("127.0.0.1:7000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->ToString(), "127.0.0.1:7000");
  auto v6 = ParseEndpoint("[::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->ToString(), "[::1]:80");
  EXPECT_EQ(ParseEndpoint("localhost:9")->ip.v4(), 0x7f000001u);
  EXPECT_EQ(ParseEndpoint("127.0.0.1", 7000)->port, 7000);
  EXPECT_FALSE(ParseEndpoint("127.0.0.1"));
  EXPECT_FALSE(ParseEndpoint("127.0.0.1:70000"));
  EXPECT_FALSE(ParseEndpoint("127.0.0.1:0"));
  EXPECT_FALSE(ParseEndpoint("[::1"));
}

TEST(Endpoint, SockaddrRoundTrip) {
  for (const char* text : {"127.0.0.9:1234", "[::1]:4321"}) {
    auto e = *ParseEndpoint(text);
    sockaddr_storage ss;
    socklen_t len = e.ToSockaddr(&ss);
    EXPECT_GT(len, 0u);
    EXPECT_EQ(Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss)), e);
  }
}

TEST(Cidr, SizeAtContains) {
  auto c = ParseCidr("127.0.0.0/16");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->Size(), 65536u);
  EXPECT_EQ(c->At(0).ToString(), "127.0.0.0");
  EXPECT_EQ(c->At(258).ToString(), "127.0.1.2");
  EXPECT_TRUE(c->Contains(*ParseIp("127.0.200.1")));
  EXPECT_FALSE(c->Contains(*ParseIp("127.1.0.1")));
  auto host = ParseCidr("127.0.0.5");
  EXPECT_EQ(host->Size(), 1u);
  auto masked = ParseCidr("198.19.77.3/15");
  EXPECT_EQ(masked->base.ToString(), "198.18.0.0");
  EXPECT_EQ(masked->Size(), 131072u);
  auto v6 = ParseCidr("fd00::/120");
  EXPECT_EQ(v6->Size(), 256u);
  EXPECT_EQ(v6->At(255).ToString(), "fd00::ff");
  EXPECT_FALSE(ParseCidr("127.0.0.0/33"));
  EXPECT_FALSE(ParseCidr("nope/8"));
}

TEST(ParsePortRanges, ValidAndInvalid) {
  auto r = ParsePortRanges("1-65535");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at(0).Size(), 65535u);
  auto multi = ParsePortRanges("7000-7009,8080");
  ASSERT_TRUE(multi);
  ASSERT_EQ(multi->size(), 2u);
  EXPECT_TRUE(multi->at(1).Contains(8080));
  auto reversed = ParsePortRanges("10-5");
  ASSERT_FALSE(reversed);
  EXPECT_NE(reversed.error().context.find("10 is above 5"), std::string::npos);
  EXPECT_FALSE(ParsePortRanges("70000"));
  EXPECT_FALSE(ParsePortRanges("a-b"));
}

}  // namespace
}  // namespace tcpmax

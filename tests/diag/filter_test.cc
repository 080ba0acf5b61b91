#include "diag/filter.h"

#include <gtest/gtest.h>

#include "diag/proc_net_tcp.h"

namespace tcpmax::diag {
namespace {

TEST(Filter, PortListsCoveringEverythingAreDropped) {
  EXPECT_TRUE(NormalizePorts({{1, 65535}}).empty());
  EXPECT_TRUE(NormalizePorts({{0, 65535}}).empty());
  EXPECT_TRUE(NormalizePorts({{30000, 65535}, {1, 30001}}).empty());
  EXPECT_EQ(NormalizePorts({{2, 65535}}).size(), 1u);
  EXPECT_EQ(NormalizePorts({{1, 100}, {102, 65535}}).size(), 2u);
}

TEST(Filter, Ipv4CidrMatchesMappedIpv6Only) {
  Cidr lo8 = *ParseCidr("127.0.0.0/8");
  uint8_t v4[4] = {127, 1, 2, 3};
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1};  // ::127.0.0.1, not mapped
  EXPECT_TRUE(Filter::CidrMatches(lo8, AF_INET, v4));
  EXPECT_TRUE(Filter::CidrMatches(lo8, AF_INET6, mapped));
  EXPECT_FALSE(Filter::CidrMatches(lo8, AF_INET6, v6));
  Cidr any6 = *ParseCidr("::/0");
  EXPECT_TRUE(Filter::CidrMatches(any6, AF_INET6, v6));
  EXPECT_FALSE(Filter::CidrMatches(any6, AF_INET, v4));
}

TEST(ProcNetTcp, BadLineIsAnErrorNamingIt) {
  Tally t{Query{}};
  auto r = ParseProcNetTcp("  sl  local_address rem_address   st\n   0: 0100007F:1F40 zz\n", AF_INET, t);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find("0100007F:1F40 zz"), std::string::npos);
}

TEST(ProcNetTcp, ParsesAddressesAndPorts) {
  Query q;
  q.src = {*ParseCidr("127.0.0.1")};
  q.lports = {{8000, 8000}};
  q.states = StateBit(kListen);
  Tally t(q);
  auto r = ParseProcNetTcp("   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n"
                           "   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1\n",
                           AF_INET, t);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 2u);
  EXPECT_EQ(t.total(), 1u);
}

}  // namespace
}  // namespace tcpmax::diag

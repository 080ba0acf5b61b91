#include "userland/link/firewall.h"

#include <gtest/gtest.h>

#include <unistd.h>

namespace tcpmax::userland::link {
namespace {

TEST(FirewallTest, ServerRulesDropInboundAtPreroutingAndTheKernelsResets) {
  FirewallSpec spec;
  spec.table = "tcpmax_42";
  spec.local = *ParseCidr("198.18.0.1/32");
  spec.local_ports = {{80, 80}, {8080, 8080}};
  EXPECT_EQ(RenderFirewall(spec),
            "# tcpmax userland: the kernel's TCP stack keeps away from the user-space engine's connections\n"
            "table inet tcpmax_42 {\n"
            "\tchain prerouting {\n"
            "\t\ttype filter hook prerouting priority raw; policy accept;\n"
            "\t\tip daddr 198.18.0.1 tcp dport { 80, 8080 } drop\n"
            "\t}\n"
            "\tchain output {\n"
            "\t\ttype filter hook output priority raw; policy accept;\n"
            "\t\tip saddr 198.18.0.1 tcp sport { 80, 8080 } tcp flags & rst == rst drop\n"
            "\t}\n"
            "}\n");
}

TEST(FirewallTest, ClientRulesNameTheSourceRangeItsPortsAndTheTarget) {
  FirewallSpec spec;
  spec.table = "t";
  spec.local = *ParseCidr("198.19.0.0/16");
  spec.local_ports = {{1024, 65535}};
  spec.remote_ip = IpAddress::V4(0xc6120001);
  spec.remote_ports = {{80, 80}, {7000, 7009}};
  std::string text = RenderFirewall(spec);
  EXPECT_NE(text.find("\t\tip daddr 198.19.0.0/16 ip saddr 198.18.0.1 tcp sport { 80, 7000-7009 } tcp dport "
                      "{ 1024-65535 } drop\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\t\tip saddr 198.19.0.0/16 ip daddr 198.18.0.1 tcp dport { 80, 7000-7009 } tcp sport "
                      "{ 1024-65535 } tcp flags & rst == rst drop\n"),
            std::string::npos)
      << text;
}

TEST(FirewallTest, Ipv6RulesMatchIp6AddressesInTheSameTable) {
  FirewallSpec server;
  server.table = "tcpmax_42";
  server.local = *ParseCidr("2001:db8::1/128");
  server.local_ports = {{80, 80}};
  EXPECT_EQ(RenderFirewall(server),
            "# tcpmax userland: the kernel's TCP stack keeps away from the user-space engine's connections\n"
            "table inet tcpmax_42 {\n"
            "\tchain prerouting {\n"
            "\t\ttype filter hook prerouting priority raw; policy accept;\n"
            "\t\tip6 daddr 2001:db8::1 tcp dport { 80 } drop\n"
            "\t}\n"
            "\tchain output {\n"
            "\t\ttype filter hook output priority raw; policy accept;\n"
            "\t\tip6 saddr 2001:db8::1 tcp sport { 80 } tcp flags & rst == rst drop\n"
            "\t}\n"
            "}\n");
  FirewallSpec client;
  client.table = "t";
  client.local = *ParseCidr("2001:db8:1::/112");
  client.local_ports = {{1024, 65535}};
  client.remote_ip = *ParseIp("2001:db8::1");
  client.remote_ports = {{80, 80}};
  std::string text = RenderFirewall(client);
  EXPECT_NE(text.find("\t\tip6 daddr 2001:db8:1::/112 ip6 saddr 2001:db8::1 tcp sport { 80 } tcp dport { 1024-65535 } "
                      "drop\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\t\tip6 saddr 2001:db8:1::/112 ip6 daddr 2001:db8::1 tcp dport { 80 } tcp sport "
                      "{ 1024-65535 } tcp flags & rst == rst drop\n"),
            std::string::npos)
      << text;
}

TEST(FirewallTest, TableNameCarriesThePid) {
  EXPECT_EQ(FirewallTableName(), "tcpmax_" + std::to_string(::getpid()));
}

}  // namespace
}  // namespace tcpmax::userland::link

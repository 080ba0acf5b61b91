// Renderers of `tcpmax count` (report/count.h): the text lists states and
// top groups; the JSON carries the schema, counts as numbers and the query
// both structured and as text; --watch lines and JSON carry the change since
// the previous sample; the warnings name the fallback and the interrupted dump.
#include "report/count.h"

#include <gtest/gtest.h>

namespace tcpmax::report {
namespace {

diag::Query PortQuery() {
  diag::Query q;
  q.lports = {{7000, 7004}, {8080, 8080}};
  q.dst = *ParseCidrs("127.0.0.0/8");
  q.states = diag::StateBit(diag::kEstablished) | diag::StateBit(diag::kListen);
  q.ipv6 = false;
  return q;
}

diag::Counts Sample() {
  diag::Counts c;
  c.states[diag::kEstablished] = 1200;
  c.states[diag::kListen] = 6;
  c.total = 1206;
  c.ipv4 = 1206;
  c.source = diag::SourceKind::kNetlink;
  c.by = diag::AggregateBy::kLocalPort;
  c.distinct_groups = 6;
  c.groups = {{{7000}, 700}, {{7001}, 500}};
  return c;
}

TEST(CountRender, TextShowsTotalFilterStatesAndGroups) {
  std::string text = CountText(PortQuery(), Sample());
  EXPECT_NE(text.find("TCP sockets: 1,206  (local ports 7000-7004,8080, remote addresses 127.0.0.0/8, states "),
            std::string::npos) << text;
  EXPECT_NE(text.find("IPv4 1,206, IPv6 0; source netlink)"), std::string::npos) << text;
  EXPECT_NE(text.find("  established          1,200\n"), std::string::npos) << text;
  EXPECT_NE(text.find("top 2 of 6 by lport:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  7000 "), std::string::npos) << text;
}

TEST(CountRender, JsonHasSchemaNumbersAndStructuredQuery) {
  nlohmann::json j = CountJson(PortQuery(), Sample());
  EXPECT_EQ(j["schema"], kCountSchema);
  EXPECT_EQ(j["schema"], "tcpmax.count/1");
  EXPECT_EQ(j["total"], 1206);
  EXPECT_EQ(j["states"], (nlohmann::json{{"established", 1200}, {"listen", 6}}));
  EXPECT_EQ(j["query"]["lports"], (nlohmann::json{{7000, 7004}, {8080, 8080}}));
  EXPECT_EQ(j["query"]["rports"], (nlohmann::json{{1, 65535}}));  // no filter: every port
  EXPECT_EQ(j["query"]["dst"], (nlohmann::json{"127.0.0.0/8"}));
  EXPECT_EQ(j["query"]["states"], (nlohmann::json{"established", "listen"}));
  EXPECT_EQ(j["query"]["ipv6"], false);
  EXPECT_EQ(j["filter"], CountFilter(PortQuery()));
  EXPECT_EQ(j["by"], "lport");
  EXPECT_EQ(j["distinct"], 6);
  // The group key stays a label; a port grouping also carries the port as a number.
  EXPECT_EQ(j["groups"][0], (nlohmann::json{{"key", "7000"}, {"port", 7000}, {"count", 700}}));
  EXPECT_EQ(j["single_walk"], false);
  EXPECT_FALSE(j.contains("fallback_reason"));
}

TEST(CountRender, JsonOfAddressGroupsHasNoPort) {
  diag::Counts c = Sample();
  c.by = diag::AggregateBy::kRemoteAddr;
  c.groups = {{{0, IpAddress::V4(0x7f000009)}, 3}};
  nlohmann::json j = CountJson(diag::Query{}, c);
  EXPECT_EQ(j["groups"][0], (nlohmann::json{{"key", "127.0.0.9"}, {"count", 3}}));
}

TEST(CountRender, WatchCarriesTheChangeSinceThePreviousSample) {
  diag::Counts before = Sample(), now = Sample();
  now.states[diag::kEstablished] = 1204;
  now.total = 1210;
  std::string first = CountWatchLine({&now, nullptr, 3600});
  EXPECT_EQ(first, "01:00:00 total 1,210 (0)  established 1,204 (0)  listen 6 (0)");
  std::string next = CountWatchLine({&now, &before, 3601});
  EXPECT_EQ(next, "01:00:01 total 1,210 (+4)  established 1,204 (+4)  listen 6 (0)");
  nlohmann::json j = CountWatchJson(diag::Query{}, {&now, &before, 3601});
  EXPECT_EQ(j["time_unix_seconds"], 3601);
  EXPECT_EQ(j["total_delta"], 4);
  EXPECT_EQ(j["schema"], "tcpmax.count/1");
}

TEST(CountRender, WarningsNameFallbackAndInterruptedDump) {
  diag::Counts c;
  EXPECT_TRUE(CountWarnings(c).empty());
  c.fallback_reason = "sock_diag: EPERM";
  c.interrupted = true;
  c.attempts = 3;
  auto lines = CountWarnings(c);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "netlink refused (sock_diag: EPERM); counted from /proc");
  EXPECT_EQ(lines[1], "the kernel flagged the dump inconsistent 3 times; counts are approximate");
}

}  // namespace
}  // namespace tcpmax::report

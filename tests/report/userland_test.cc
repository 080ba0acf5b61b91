// Renderers of `tcpmax userland serve|load` (report/userland.h): the text
// summary names every counter a user checks, drops by reason; the JSON keeps
// counters as numbers and every drop reason; the progress line is one line.
#include "report/userland.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace tcpmax::report {
namespace {

using userland::wire::DropReason;

userland::ServeReport Served() {
  userland::ServeReport r;
  r.established = 1000;
  r.peak_established = 1200;
  r.stats.accepted = 1200;
  r.stats.closed = 150;
  r.stats.reset_by_peer = 50;
  r.stats.syns = 1300;
  r.stats.cookie_bad = 2;
  r.stats.packets_in = 4000;
  r.stats.packets_out = 2600;
  r.stats.drops[size_t(DropReason::kBadTcpChecksum)] = 3;
  r.stats.drops[size_t(DropReason::kFragment)] = 1;
  r.table_capacity = 2048;
  r.table_bytes = 32768;
  r.rss_base = 1 << 20;
  r.rss_now = (1 << 20) + 64000;
  r.seconds = 2;
  return r;
}

userland::LoadReport Loaded() {
  userland::LoadReport r;
  r.connections = 1000;
  r.phase = userland::LoadPhase::kVerify;
  r.stats.established = 990;
  r.stats.refused = 10;
  r.stats.syns_sent = 1000;
  r.stats.syns_resent = 5;
  r.stats.packets_in = 1000;
  r.stats.packets_out = 2000;
  r.verify_chosen = 100;
  r.stats.verify_answered = 98;
  r.stats.verify_reset = 1;
  r.verify_lost = 1;
  r.handshake_seconds = 0.5;
  r.state_bytes = 250;
  r.seconds = 1.5;
  return r;
}

TEST(UserlandRender, ServeTextNamesCountersAndDropsByReason) {
  std::string text = UserlandServeText(Served());
  EXPECT_EQ(text.rfind("userland serve: 1,000 established (peak 1,200), 1,200 accepted, 150 closed, 50 reset by peer\n",
                       0), 0u) << text;
  EXPECT_NE(text.find("fragment=1 bad_tcp_checksum=3"), std::string::npos) << text;
  EXPECT_NE(text.find("(64.0 B/conn)"), std::string::npos) << text;  // (RSS now - base) / established
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5) << text;
  EXPECT_NE(UserlandServeText(userland::ServeReport{}).find("dropped:    none;"), std::string::npos);
}

TEST(UserlandRender, ServeJsonKeepsNumbersAndEveryDropReason) {
  nlohmann::json j = UserlandServeJson(Served());
  EXPECT_EQ(j["established"], 1000);
  EXPECT_EQ(j["peak_established"], 1200);
  EXPECT_EQ(j["rss_bytes_per_connection"], 64.0);
  EXPECT_EQ(j["table_bytes"], 32768);
  EXPECT_EQ(j["drops"].size(), userland::wire::kDropReasons);
  EXPECT_EQ(j["drops"]["bad_tcp_checksum"], 3);
  EXPECT_EQ(j["drops"]["too_short"], 0);
}

TEST(UserlandRender, LoadTextAndJsonCarryHandshakesAndVerification) {
  std::string text = UserlandLoadText(Loaded());
  EXPECT_NE(text.find("userland load: 990 of 1,000 established in 0.50 s (2.0k/s handshakes); 10 refused, 0 unmatched RSTs ignored"),
            std::string::npos) << text;
  EXPECT_NE(text.find("verify:   100 random connections probed: 98 answered, 1 reset, 1 lost"), std::string::npos)
      << text;
  EXPECT_NE(text.find("(2.00 bits per tuple)"), std::string::npos) << text;
  nlohmann::json j = UserlandLoadJson(Loaded());
  EXPECT_EQ(j["established"], 990);
  EXPECT_EQ(j["handshakes_per_second"], 1980.0);
  EXPECT_EQ(j["packets_per_second"], 2000.0);  // (in + out) / seconds
  EXPECT_EQ(j["verify"], (nlohmann::json{{"chosen", 100}, {"probes_sent", 0}, {"answered", 98}, {"reset", 1},
                                         {"lost", 1}}));
}

TEST(UserlandRender, LoadWithoutVerificationHasNoVerifyLine) {
  userland::LoadReport r = Loaded();
  r.verify_chosen = 0;
  EXPECT_EQ(UserlandLoadText(r).find("verify:"), std::string::npos);
}

TEST(UserlandRender, AfPacketRunsNameTheirLinkThreadsAndRingDrops) {
  userland::ServeReport s = Served();
  s.link_kind = userland::LinkKind::kAfPacket;
  s.threads = 2;
  s.link.rx_ring_drops = 7;
  s.link.rx_merged = 3;
  EXPECT_NE(report::UserlandServeText(s).find("af_packet, 2 engine thread(s); 7 packets dropped by the kernel"),
            std::string::npos)
      << report::UserlandServeText(s);
  nlohmann::json js = report::UserlandServeJson(s);
  EXPECT_EQ(js["link"], "af_packet");
  EXPECT_EQ(js["threads"], 2);
  EXPECT_EQ(js["link_rx_ring_drops"], 7);
  EXPECT_EQ(js["link_rx_merged"], 3);
  EXPECT_EQ(report::UserlandServeText(Served()).find("af_packet"), std::string::npos);  // a TUN run says nothing of it
  EXPECT_EQ(report::UserlandServeJson(Served())["link"], "tun");
  userland::LoadReport l = Loaded();
  l.link_kind = userland::LinkKind::kAfPacket;
  l.threads = 4;
  EXPECT_NE(report::UserlandLoadText(l).find("af_packet, 4 engine thread(s)"), std::string::npos);
  EXPECT_EQ(report::UserlandLoadJson(l)["threads"], 4);
}

TEST(UserlandRender, ProgressLinesAreOneLineWithThePhase) {
  std::string serve = UserlandServeProgress(Served());
  EXPECT_EQ(serve, "userland serve: 1,000 established, 1,200 accepted, 1,300 SYN, 2.0k/s packets in, 4 dropped");
  std::string load = UserlandLoadProgress(Loaded());
  EXPECT_EQ(load, "userland load [verify]: 990 / 1,000 established, 1,000 SYN + 5 resent, 98 answered 1 reset");
}

}  // namespace
}  // namespace tcpmax::report

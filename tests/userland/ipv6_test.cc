// IPv6 through the user-space engine: the wire (RFC 8200 header, the IPv6
// pseudo-header checksum of RFC 8200 8.1, extension headers refused), SYN
// cookies over 128-bit addresses with the IPv6 MSS table, the connection
// table's prefix-index key, and the server and client engines end to end.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "test_sink.h"
#include "userland/tcp/client.h"
#include "userland/tcp/conn_table.h"
#include "userland/tcp/peer_prefixes.h"
#include "userland/tcp/server.h"
#include "userland/tcp/syn_cookie.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland {
namespace {

using testing::Packet;
using testing::RecordingSink;
using wire::Ip6;
using wire::kAck;
using wire::kFin;
using wire::kRst;
using wire::kSyn;

constexpr Ip6 kServer6{0x20010db800000000ull, 0x1};           // 2001:db8::1
constexpr Ip6 kPeer6{0x20010db800010000ull, 0x0000000000000005ull};  // 2001:db8:1::5
constexpr uint64_t kNow = 1'000'000'000'000ull;
constexpr uint64_t kSec = 1'000'000'000ull;

wire::SegmentSpec Spec6(Ip6 src, Ip6 dst, uint16_t sport, uint16_t dport) {
  wire::SegmentSpec s;
  s.v6 = true;
  s.src_ip6 = src;
  s.dst_ip6 = dst;
  s.src_port = sport;
  s.dst_port = dport;
  s.window = 64000;
  return s;
}

// The TCP checksum computed the long way, independently of wire/checksum: a
// pseudo-header laid out byte by byte as RFC 8200 8.1 draws it, then the
// segment, summed in 16-bit words with end-around carry.
uint16_t ReferenceChecksum6(const std::vector<uint8_t>& packet) {
  std::vector<uint8_t> buf(packet.begin() + 8, packet.begin() + 40);  // source, destination
  uint32_t len = uint32_t(packet.size() - 40);
  for (int shift : {24, 16, 8, 0}) buf.push_back(uint8_t(len >> shift));
  buf.insert(buf.end(), {0, 0, 0, 6});
  buf.insert(buf.end(), packet.begin() + 40, packet.end());
  buf[32 + 8 + 16] = buf[32 + 8 + 17] = 0;  // the checksum field itself
  if (buf.size() % 2) buf.push_back(0);
  uint32_t sum = 0;
  for (size_t i = 0; i < buf.size(); i += 2) sum += (uint32_t(buf[i]) << 8) | buf[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

TEST(Ipv6WireTest, RoundTripHeaderFieldsOptionsAndPayload) {
  wire::SegmentSpec s = Spec6(kPeer6, kServer6, 40000, 80);
  s.seq = 0xfffffff0u;
  s.ack = 17;
  s.flags = kAck | wire::kPsh;
  s.timestamps = true;
  s.ts_val = 0x11223344;
  s.ts_ecr = 0x55667788;
  std::vector<uint8_t> data = {'h', 'e', 'l', 'l', 'o'};
  s.payload = data;
  std::vector<uint8_t> p = Packet(s);
  ASSERT_EQ(p.size(), 40u + 20u + 12u + 5u);
  EXPECT_EQ(p[0], 0x60);  // version 6, traffic class 0
  EXPECT_EQ((p[4] << 8) | p[5], 20 + 12 + 5);  // payload length
  EXPECT_EQ(p[6], 6);   // next header TCP
  EXPECT_EQ(p[7], 64);  // hop limit
  EXPECT_EQ(std::vector<uint8_t>(p.begin() + 8, p.begin() + 24),
            (std::vector<uint8_t>{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}));
  EXPECT_EQ((p[56] << 8) | p[57], ReferenceChecksum6(p));
  wire::Segment g;
  wire::ParseResult r = wire::ParseSegment(p, &g);
  ASSERT_TRUE(r.ok) << wire::DropReasonName(r.reason);
  EXPECT_TRUE(g.v6);
  EXPECT_EQ(g.src_ip6, kPeer6);
  EXPECT_EQ(g.dst_ip6, kServer6);
  EXPECT_EQ(g.src_ip, 5u);  // the low 32 bits
  EXPECT_EQ(g.dst_ip, 1u);
  EXPECT_EQ(g.ttl, 64);
  EXPECT_EQ(g.src_port, 40000);
  EXPECT_EQ(g.seq, s.seq);
  EXPECT_EQ(g.ack, 17u);
  EXPECT_TRUE(g.options.has_timestamps);
  EXPECT_EQ(g.options.ts_ecr, 0x55667788u);
  EXPECT_EQ(std::vector<uint8_t>(g.payload.begin(), g.payload.end()), data);
}

TEST(Ipv6WireTest, OddLengthPayloadChecksumMatchesReference) {
  wire::SegmentSpec s = Spec6(kPeer6, kServer6, 1, 2);
  std::vector<uint8_t> data(1001, 0xab);
  s.payload = data;
  std::vector<uint8_t> p = Packet(s);
  EXPECT_EQ((p[56] << 8) | p[57], ReferenceChecksum6(p));
  wire::Segment g;
  EXPECT_TRUE(wire::ParseSegment(p, &g).ok);
}

wire::DropReason Reason(const std::vector<uint8_t>& p) {
  wire::Segment g;
  wire::ParseResult r = wire::ParseSegment(p, &g);
  EXPECT_FALSE(r.ok);
  return r.reason;
}

TEST(Ipv6WireTest, MalformedAndUnsupportedPacketsAreDroppedWithTheirReason) {
  std::vector<uint8_t> good = Packet(Spec6(kPeer6, kServer6, 40000, 80));
  auto with = [&](size_t at, uint8_t v) {
    std::vector<uint8_t> p = good;
    p[at] = v;
    return p;
  };
  EXPECT_EQ(Reason(with(57, uint8_t(good[57] ^ 1))), wire::DropReason::kBadTcpChecksum);
  // The source address is covered by the pseudo-header checksum too.
  EXPECT_EQ(Reason(with(9, 0x02)), wire::DropReason::kBadTcpChecksum);
  EXPECT_EQ(Reason(std::vector<uint8_t>(good.begin(), good.begin() + 39)), wire::DropReason::kTooShort);
  EXPECT_EQ(Reason(with(5, 21)), wire::DropReason::kBadTotalLen);  // payload length past the packet
  EXPECT_EQ(Reason(with(5, 19)), wire::DropReason::kBadTcpHeaderLen);
  for (uint8_t ext : {0, 43, 60, 51, 50, 135}) {
    EXPECT_EQ(Reason(with(6, ext)), wire::DropReason::kExtensionHeader) << int(ext);
  }
  EXPECT_EQ(Reason(with(6, 44)), wire::DropReason::kFragment);
  EXPECT_EQ(Reason(with(6, 17)), wire::DropReason::kNotTcp);
  EXPECT_EQ(Reason(with(6, 58)), wire::DropReason::kNotTcp);  // ICMPv6: NDP, MLD
  EXPECT_EQ(Reason(with(0, 0x50)), wire::DropReason::kBadVersion);
  // Sources that never send TCP: unspecified, multicast, IPv4-mapped (checksums valid).
  for (Ip6 bad : {Ip6{0, 0}, Ip6{0xff02000000000000ull, 1}, Ip6{0, 0x0000ffffc6130005ull}}) {
    EXPECT_EQ(Reason(Packet(Spec6(bad, kServer6, 40000, 80))), wire::DropReason::kBadAddress);
  }
}

tcp::FourTuple Tuple6(Ip6 src, Ip6 dst, uint16_t sport, uint16_t dport) {
  tcp::FourTuple t;
  t.v6 = true;
  t.src_ip6 = src;
  t.dst_ip6 = dst;
  t.src_port = sport;
  t.dst_port = dport;
  t.src_ip = src.Low32();
  t.dst_ip = dst.Low32();
  return t;
}

TEST(Ipv6CookieTest, ChecksForTheWhole128BitTupleAndCarriesTheIpv6MssIndex) {
  tcp::SynCookies c(tcp::SipKey{1, 2}, tcp::SipKey{3, 4});
  tcp::FourTuple t = Tuple6(kPeer6, kServer6, 40000, 80);
  for (uint32_t mss_index = 0; mss_index < 4; ++mss_index) {
    uint32_t cookie = c.Make(t, 777, mss_index, kNow);
    EXPECT_EQ(c.Check(t, 777, cookie, kNow + 10 * kSec), mss_index);
  }
  uint32_t cookie = c.Make(t, 777, 2, kNow);
  // The same low 32 bits and ports in another /96: a different tuple.
  tcp::FourTuple other = Tuple6(Ip6{kPeer6.hi ^ 1, kPeer6.lo}, kServer6, 40000, 80);
  EXPECT_FALSE(c.Check(other, 777, cookie, kNow).has_value());
  tcp::FourTuple other_dst = Tuple6(kPeer6, Ip6{kServer6.hi, kServer6.lo | (uint64_t(1) << 40)}, 40000, 80);
  EXPECT_FALSE(c.Check(other_dst, 777, cookie, kNow).has_value());
  EXPECT_FALSE(c.Check(t, 777, cookie, kNow + 3 * tcp::SynCookies::kPeriodNs).has_value());  // expired
  // msstab6 (Linux): 1220, 1420, 1440, 8940.
  EXPECT_EQ(tcp::SynCookies::MssIndex(0, true), 0u);
  EXPECT_EQ(tcp::SynCookies::MssIndex(1440, true), 2u);
  EXPECT_EQ(tcp::SynCookies::MssIndex(1439, true), 1u);
  EXPECT_EQ(tcp::SynCookies::MssIndex(9000, true), 3u);
  EXPECT_EQ(tcp::SynCookies::MssIndex(1460, false), 3u);
}

TEST(Ipv6TableTest, PrefixIndexIsPartOfTheKeyAndSurvivesGrowthAndErase) {
  tcp::ConnTable t(42, /*v6=*/true);
  std::mt19937_64 rng(3);
  std::unordered_map<uint64_t, uint32_t> ref;  // (low32, port, prefix) -> rcv_nxt
  auto key = [](uint64_t k) {
    return tcp::ConnKey{uint32_t(k & 0xff), uint16_t(1024 + ((k >> 8) & 0xff)), 0, uint16_t(k >> 16)};
  };
  // Few low-32 values and ports, many prefixes: only the prefix tells keys apart.
  for (int i = 0; i < 20000; ++i) {
    uint64_t k = rng() % (256 * 256 * 64);
    tcp::Conn* c = t.Find(key(k));
    if (ref.count(k)) {
      ASSERT_NE(c, nullptr);
      ASSERT_EQ(c->rcv_nxt, ref[k]);
      EXPECT_EQ(t.KeyOf(*c), key(k));
      if (rng() % 3 == 0) {
        t.Erase(c);
        ref.erase(k);
      }
    } else {
      ASSERT_EQ(c, nullptr);
      auto in = t.Insert(key(k));
      ASSERT_TRUE(in.has_value());
      (*in)->rcv_nxt = uint32_t(i);
      ref[k] = uint32_t(i);
    }
  }
  EXPECT_EQ(t.size(), ref.size());
  for (auto& [k, v] : ref) {
    tcp::Conn* c = t.Find(key(k));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->rcv_nxt, v);
  }
  EXPECT_EQ(t.bytes(), t.capacity() * 18);  // 16-byte slot + 2-byte prefix index
  tcp::ConnTable v4(42);
  ASSERT_TRUE(v4.Insert(tcp::ConnKey{1, 2, 0}).has_value());
  EXPECT_EQ(v4.bytes(), v4.capacity() * 16);  // IPv4 unchanged
}

TEST(Ipv6TableTest, PeerPrefixesInternFindAndRefuseWhenFull) {
  tcp::PeerPrefixes p(5);
  EXPECT_FALSE(p.Find(kPeer6.Prefix96()).has_value());
  auto a = p.Intern(kPeer6.Prefix96());
  auto b = p.Intern(kServer6.Prefix96());
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(p.Intern(kPeer6.Prefix96()), a);
  EXPECT_EQ(p.Find(kPeer6.Prefix96()), a);
  EXPECT_EQ(p.At(*b), kServer6.Prefix96());
  for (uint32_t i = p.size(); i < tcp::PeerPrefixes::kMaxPrefixes; ++i) {
    ASSERT_TRUE(p.Intern(Ip6{0x20010db8ff000000ull + i, 0}).has_value());
  }
  EXPECT_FALSE(p.Intern(Ip6{0x20010db8fe000000ull, 0}).has_value());
  EXPECT_EQ(p.Find(kServer6.Prefix96()), b);  // the old ones are still there
}

class Ipv6ServerTest : public ::testing::Test {
 protected:
  static tcp::ServerConfig Config(tcp::ServeMode mode) {
    tcp::ServerConfig c;
    c.v6 = true;
    c.ip6 = kServer6;
    c.ports = {80};
    c.mode = mode;
    c.mss = 1440;
    return c;
  }

  // A handshake from `peer`:`sport`; returns our ISS.
  uint32_t Handshake(tcp::ServerEngine& e, Ip6 peer, uint16_t sport, uint32_t irs = 1000) {
    wire::SegmentSpec syn = Spec6(peer, kServer6, sport, 80);
    syn.seq = irs;
    syn.flags = kSyn;
    syn.mss = 1440;
    e.Input(Packet(syn), kNow, sink_);
    wire::Segment sa = sink_.Last();
    EXPECT_EQ(sa.flags, kSyn | kAck);
    EXPECT_TRUE(sa.v6);
    EXPECT_EQ(sa.src_ip6, kServer6);
    EXPECT_EQ(sa.dst_ip6, peer);
    EXPECT_EQ(sa.ack, irs + 1);
    EXPECT_EQ(sa.options.mss, 1440);
    wire::SegmentSpec ack = Spec6(peer, kServer6, sport, 80);
    ack.seq = irs + 1;
    ack.ack = sa.seq + 1;
    ack.flags = kAck;
    e.Input(Packet(ack), kNow, sink_);
    sink_.Clear();
    return sa.seq;
  }

  RecordingSink sink_;
};

TEST_F(Ipv6ServerTest, CookieHandshakeEchoAndPassiveClose) {
  tcp::ServerEngine e(Config(tcp::ServeMode::kEcho), tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 9);
  uint32_t iss = Handshake(e, kPeer6, 40000);
  EXPECT_EQ(e.established(), 1u);
  EXPECT_EQ(e.peer_prefixes(), 1u);
  EXPECT_EQ(e.table().bytes(), e.table().capacity() * 18);
  std::vector<uint8_t> data(1900, 'x');  // fits test_sink's 2048-byte packets
  wire::SegmentSpec d = Spec6(kPeer6, kServer6, 40000, 80);
  d.seq = 1001;
  d.ack = iss + 1;
  d.flags = kAck;
  d.payload = data;
  e.Input(Packet(d), kNow, sink_);
  // Echoed in pieces of the IPv6 MSS the cookie carried (1440), back to the peer.
  ASSERT_EQ(sink_.size(), 2u);
  EXPECT_EQ(sink_.At(0).payload.size(), 1440u);
  EXPECT_EQ(sink_.At(1).payload.size(), 460u);
  EXPECT_EQ(sink_.At(0).seq, iss + 1);
  EXPECT_EQ(sink_.At(1).seq, iss + 1 + 1440);
  EXPECT_EQ(sink_.At(0).dst_ip6, kPeer6);
  EXPECT_EQ(sink_.At(1).ack, 1001u + 1900u);
  sink_.Clear();
  wire::SegmentSpec fin = Spec6(kPeer6, kServer6, 40000, 80);
  fin.seq = 1001 + 1900;
  fin.ack = iss + 1 + 1900;
  fin.flags = kAck | kFin;
  e.Input(Packet(fin), kNow, sink_);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kFin | kAck);
  wire::SegmentSpec last = fin;
  last.seq = 1001 + 1900 + 1;
  last.ack = iss + 1 + 1900 + 1;
  last.flags = kAck;
  e.Input(Packet(last), kNow, sink_);
  EXPECT_EQ(e.established(), 0u);
  EXPECT_EQ(e.stats().closed, 1u);
}

TEST_F(Ipv6ServerTest, PeersDifferingOnlyAboveTheLow32BitsAreSeparateConnections) {
  tcp::ServerEngine e(Config(tcp::ServeMode::kHold), tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 9);
  Ip6 twin{kPeer6.hi + 1, kPeer6.lo};  // another /96, same host part
  uint32_t iss_a = Handshake(e, kPeer6, 40000);
  uint32_t iss_b = Handshake(e, twin, 40000);
  EXPECT_EQ(e.established(), 2u);
  EXPECT_EQ(e.peer_prefixes(), 2u);
  // An exact RST from the twin closes the twin's connection only.
  wire::SegmentSpec rst = Spec6(twin, kServer6, 40000, 80);
  rst.seq = 1001;
  rst.flags = kRst;
  e.Input(Packet(rst), kNow, sink_);
  EXPECT_EQ(e.established(), 1u);
  EXPECT_EQ(e.stats().reset_by_peer, 1u);
  // The first peer's connection is still there: a keepalive is answered with its own numbers.
  wire::SegmentSpec ka = Spec6(kPeer6, kServer6, 40000, 80);
  ka.seq = 1000;
  ka.ack = iss_a + 1;
  ka.flags = kAck;
  e.Input(Packet(ka), kNow, sink_);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().seq, iss_a + 1);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_NE(iss_a, iss_b);
}

TEST_F(Ipv6ServerTest, ForgedAckUnknownPortAndOtherFamilyOrAddress) {
  tcp::ServerEngine e(Config(tcp::ServeMode::kHold), tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 9);
  wire::SegmentSpec ack = Spec6(kPeer6, kServer6, 40000, 80);
  ack.seq = 5;
  ack.ack = 12345;
  ack.flags = kAck;
  e.Input(Packet(ack), kNow, sink_);
  EXPECT_EQ(e.stats().cookie_bad, 1u);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kRst);
  EXPECT_EQ(sink_.Last().seq, 12345u);
  EXPECT_TRUE(sink_.Last().v6);
  EXPECT_EQ(e.peer_prefixes(), 0u);  // nothing is learnt from a bad cookie
  sink_.Clear();
  wire::SegmentSpec syn = Spec6(kPeer6, kServer6, 40000, 81);
  syn.flags = kSyn;
  e.Input(Packet(syn), kNow, sink_);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kRst | kAck);  // nobody listens on 81
  sink_.Clear();
  syn.dst_port = 80;
  syn.dst_ip6 = Ip6{kServer6.hi, 2};
  e.Input(Packet(syn), kNow, sink_);
  wire::SegmentSpec v4;
  v4.src_ip = 0xc6130005;
  v4.dst_ip = 1;  // the low 32 bits of our address, but IPv4
  v4.src_port = 40000;
  v4.dst_port = 80;
  v4.flags = kSyn;
  e.Input(Packet(v4), kNow, sink_);
  EXPECT_EQ(e.stats().not_ours, 2u);
  EXPECT_EQ(sink_.size(), 0u);
}

// Carries packets between a client and a server engine.
void Pump(tcp::ClientEngine& c, tcp::ServerEngine& s, RecordingSink& to_server, RecordingSink& to_client,
          uint64_t now) {
  for (int rounds = 0; rounds < 10 && (to_server.size() || to_client.size()); ++rounds) {
    auto a = std::move(to_server.packets);
    to_server.packets.clear();
    for (auto& p : a) s.Input(p, now, to_client);
    auto b = std::move(to_client.packets);
    to_client.packets.clear();
    for (auto& p : b) c.Input(p, now, to_server);
  }
}

TEST(Ipv6ClientTest, EnumeratesSourcesInItsPrefixAndVerifiesAgainstTheServer) {
  tcp::ClientConfig cc;
  cc.v6 = true;
  cc.src_prefix6 = Ip6{0x20010db800010000ull, 0};
  cc.src_base = 0x100;
  cc.src_count = 256;  // 2001:db8:1::100/120
  cc.sport_lo = 2000;
  cc.sport_count = 10;
  cc.dst_ip6 = kServer6;
  cc.dst_ip = kServer6.Low32();
  cc.dst_ports = {80};
  cc.connections = 2000;
  cc.mss = 1440;
  tcp::ClientEngine client(cc, tcp::SipKey{5, 6});
  tcp::ServerConfig sc;
  sc.v6 = true;
  sc.ip6 = kServer6;
  sc.ports = {80};
  tcp::ServerEngine server(sc, tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 7);
  RecordingSink to_server, to_client;
  uint64_t now = 100 * kSec;
  client.SendSyns(3, now, to_server);
  std::set<std::pair<uint64_t, uint16_t>> sources;
  for (size_t i = 0; i < to_server.size(); ++i) {
    wire::Segment syn = to_server.At(i);
    EXPECT_TRUE(syn.v6);
    EXPECT_EQ(syn.src_ip6.Prefix96(), cc.src_prefix6);
    EXPECT_EQ(syn.src_ip6.Low32(), 0x100u + i);  // addresses vary fastest
    EXPECT_EQ(syn.dst_ip6, kServer6);
    EXPECT_EQ(syn.options.mss, 1440);
  }
  while (!client.HandshakesDone(now)) {
    client.SendSyns(1000, now, to_server);
    Pump(client, server, to_server, to_client, now);
    now += kSec / 2;
  }
  EXPECT_EQ(client.stats().established, 2000u);
  EXPECT_EQ(server.established(), 2000u);
  EXPECT_EQ(server.peer_prefixes(), 1u);
  // Verify 500 of them; then the server forgets 1 and the client must see it reset.
  client.StartVerify(500, 1);
  while (!client.VerifyDone(now)) {
    client.SendProbes(10000, now, to_server);
    Pump(client, server, to_server, to_client, now);
    now += kSec / 2;
  }
  EXPECT_EQ(client.stats().verify_answered, 500u);
  EXPECT_EQ(client.verify_lost(), 0u);
  // A SYN-ACK from the right low 32 bits but the wrong /96 is not ours.
  wire::SegmentSpec sa = Spec6(kServer6, Ip6{0x20010db800020000ull, 0x100}, 80, 2000);
  sa.flags = kSyn | kAck;
  uint64_t foreign = client.stats().foreign;
  client.Input(Packet(sa), now, to_server);
  EXPECT_EQ(client.stats().foreign, foreign + 1);
}

}  // namespace
}  // namespace tcpmax::userland

// The server's RFC 9293 transitions: LISTEN (cookie SYN-ACK, final ACK),
// ESTABLISHED (data, echo, keepalive, out of order), CLOSE-WAIT -> LAST-ACK
// -> CLOSED, and the RFC 5961 checks on RST, SYN and ACK.
#include "userland/tcp/server.h"

#include <gtest/gtest.h>

#include <set>

#include <string>

#include "test_sink.h"

namespace tcpmax::userland::tcp {
namespace {

using testing::Packet;
using testing::RecordingSink;
using wire::kAck;
using wire::kFin;
using wire::kPsh;
using wire::kRst;
using wire::kSyn;

constexpr uint32_t kServer = 0xc6120001;  // 198.18.0.1
constexpr uint32_t kPeer = 0xc6130005;    // 198.19.0.5
constexpr uint64_t kNow = 1'000'000'000'000ull;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : engine_(Config(ServeMode::kHold), SipKey{1, 2}, SipKey{3, 4}, 99) {}

  static ServerConfig Config(ServeMode mode) {
    ServerConfig c;
    c.ip = kServer;
    c.ports = {80, 8080};
    c.mode = mode;
    c.challenge_acks_per_s = 3;
    return c;
  }

  wire::SegmentSpec From(uint32_t seq, uint32_t ack, uint8_t flags, std::string_view data = {}) {
    wire::SegmentSpec s;
    s.src_ip = kPeer;
    s.dst_ip = kServer;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = 64000;
    payload_.assign(data.begin(), data.end());
    s.payload = payload_;
    return s;
  }

  void Feed(const wire::SegmentSpec& s, uint64_t now = kNow) { engine_.Input(Packet(s), now, sink_); }

  // Runs a handshake from peer ISN `irs`; returns the server's ISS.
  uint32_t Handshake(uint32_t irs = 1000, bool ts = false) {
    wire::SegmentSpec syn = From(irs, 0, kSyn);
    syn.mss = 1400;
    syn.timestamps = ts;
    syn.ts_val = 555;
    Feed(syn);
    wire::Segment sa = sink_.Last();
    wire::SegmentSpec ack = From(irs + 1, sa.seq + 1, kAck);
    ack.timestamps = ts;
    ack.ts_val = 556;
    ack.ts_ecr = sa.options.ts_val;
    Feed(ack);
    sink_.Clear();
    return sa.seq;
  }

  ServerEngine engine_;
  RecordingSink sink_;
  std::vector<uint8_t> payload_;
};

TEST_F(ServerTest, SynGetsCookieSynAckAndNoState) {
  wire::SegmentSpec syn = From(1000, 0, kSyn);
  syn.mss = 1460;
  syn.wscale = 7;
  syn.sack_permitted = true;
  syn.timestamps = true;
  syn.ts_val = 4242;
  Feed(syn);
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment sa = sink_.Last();
  EXPECT_EQ(sa.flags, kSyn | kAck);
  EXPECT_EQ(sa.ack, 1001u);
  EXPECT_EQ(sa.src_ip, kServer);
  EXPECT_EQ(sa.dst_ip, kPeer);
  EXPECT_EQ(sa.src_port, 80);
  EXPECT_EQ(sa.dst_port, 40000);
  EXPECT_EQ(sa.options.mss, 1460);
  EXPECT_EQ(sa.options.wscale, 0);
  EXPECT_FALSE(sa.options.sack_permitted);  // declined
  EXPECT_TRUE(sa.options.has_timestamps);
  EXPECT_EQ(sa.options.ts_ecr, 4242u);
  EXPECT_EQ(engine_.established(), 0u);
  EXPECT_EQ(engine_.stats().syns, 1u);
}

TEST_F(ServerTest, SynWithoutOptionsGetsNoWsOrTs) {
  Feed(From(1000, 0, kSyn));
  wire::Segment sa = sink_.Last();
  EXPECT_EQ(sa.options.wscale, -1);
  EXPECT_FALSE(sa.options.has_timestamps);
}

TEST_F(ServerTest, FinalAckEstablishes) {
  Handshake();
  EXPECT_EQ(engine_.established(), 1u);
  EXPECT_EQ(engine_.stats().accepted, 1u);
  EXPECT_EQ(sink_.size(), 0u);  // a bare ACK is not answered
}

TEST_F(ServerTest, ForgedOrStaleCookieAckGetsReset) {
  Feed(From(1000, 0, kSyn));
  uint32_t iss = sink_.Last().seq;
  sink_.Clear();
  Feed(From(1001, iss + 1001, kAck));  // wrong cookie
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kRst);
  EXPECT_EQ(sink_.Last().seq, iss + 1001);  // <SEQ=SEG.ACK><CTL=RST>
  EXPECT_EQ(engine_.established(), 0u);
  sink_.Clear();
  Feed(From(1001, iss + 1, kAck), kNow + 3 * SynCookies::kPeriodNs);  // expired
  EXPECT_EQ(sink_.Last().flags, kRst);
  EXPECT_EQ(engine_.established(), 0u);
  EXPECT_EQ(engine_.stats().cookie_bad, 2u);
}

TEST_F(ServerTest, UnknownPortAndUnknownConnectionGetReset) {
  wire::SegmentSpec s = From(5, 0, kSyn);
  s.dst_port = 81;
  Feed(s);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kRst | kAck);  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
  EXPECT_EQ(sink_.Last().ack, 6u);
  sink_.Clear();
  Feed(From(5, 0, kRst));  // a RST is never answered
  EXPECT_EQ(sink_.size(), 0u);
  Feed(From(5, 0, 0));     // no flags in LISTEN: dropped
  EXPECT_EQ(sink_.size(), 0u);
}

TEST_F(ServerTest, OtherAddressIsNotOurs) {
  wire::SegmentSpec s = From(5, 0, kSyn);
  s.dst_ip = kServer + 1;
  Feed(s);
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(engine_.stats().not_ours, 1u);
}

TEST_F(ServerTest, HoldModeAcksData) {
  uint32_t iss = Handshake();
  Feed(From(1001, iss + 1, kAck | kPsh, "hello"));
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment a = sink_.Last();
  EXPECT_EQ(a.flags, kAck);
  EXPECT_EQ(a.ack, 1006u);
  EXPECT_EQ(a.seq, iss + 1);
  EXPECT_TRUE(a.payload.empty());
  EXPECT_EQ(engine_.stats().bytes_in, 5u);
}

TEST_F(ServerTest, EchoModeMirrorsAndRegeneratesOnRetransmission) {
  engine_ = ServerEngine(Config(ServeMode::kEcho), SipKey{1, 2}, SipKey{3, 4}, 99);
  uint32_t iss = Handshake(0xfffffffe);  // data crosses the 2^32 wrap
  Feed(From(0xffffffff, iss + 1, kAck | kPsh, "abcdef"));
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment e = sink_.Last();
  EXPECT_EQ(std::string(e.payload.begin(), e.payload.end()), "abcdef");
  EXPECT_EQ(e.seq, iss + 1);
  EXPECT_EQ(e.ack, 5u);  // 0xffffffff + 6
  std::vector<uint8_t> first = sink_.packets[0];
  sink_.Clear();
  Feed(From(0xffffffff, iss + 1, kAck | kPsh, "abcdef"));  // the peer retransmits
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment again = sink_.Last();
  EXPECT_EQ(again.seq, e.seq);
  EXPECT_EQ(again.ack, e.ack);
  EXPECT_EQ(std::string(again.payload.begin(), again.payload.end()), "abcdef");
  EXPECT_EQ(engine_.stats().bytes_in, 6u);
  sink_.Clear();
  Feed(From(5, iss + 7, kAck | kPsh, "gh"));  // next data continues the mirror
  EXPECT_EQ(sink_.Last().seq, iss + 7);
}

TEST_F(ServerTest, EchoSplitsByPeerMss) {
  engine_ = ServerEngine(Config(ServeMode::kEcho), SipKey{1, 2}, SipKey{3, 4}, 99);
  uint32_t iss = Handshake();  // MSS 1400 -> table value 1300
  std::string big(1400, 'x');
  Feed(From(1001, iss + 1, kAck, big));
  ASSERT_EQ(sink_.size(), 2u);
  EXPECT_EQ(sink_.At(0).payload.size(), 1300u);
  EXPECT_EQ(sink_.At(1).payload.size(), 100u);
  EXPECT_EQ(sink_.At(1).seq, iss + 1 + 1300);
}

TEST_F(ServerTest, KeepaliveIsAcked) {
  uint32_t iss = Handshake();
  Feed(From(1000, iss + 1, kAck));  // SEG.SEQ = RCV.NXT - 1, no data
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kAck);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(sink_.Last().seq, iss + 1);
  sink_.Clear();
  Feed(From(1000, iss + 1, kAck, "z"), kNow + 1'000'000'000ull);  // BSD style: one garbage byte, a probe later
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(engine_.established(), 1u);
}

TEST_F(ServerTest, OutOfOrderDataGetsDuplicateAck) {
  uint32_t iss = Handshake();
  Feed(From(1101, iss + 1, kAck, "later"));
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(engine_.stats().bytes_in, 0u);
}

TEST_F(ServerTest, OutOfWindowDataIsAckedAndDropped) {
  uint32_t iss = Handshake();
  Feed(From(1001 + 70000, iss + 1, kAck, "far"));
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(engine_.stats().dup_acks, 1u);
}

TEST_F(ServerTest, PassiveCloseThroughLastAck) {
  uint32_t iss = Handshake();
  Feed(From(1001, iss + 1, kAck | kFin));
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment fa = sink_.Last();
  EXPECT_EQ(fa.flags, kFin | kAck);
  EXPECT_EQ(fa.ack, 1002u);
  EXPECT_EQ(fa.seq, iss + 1);
  EXPECT_EQ(engine_.table().size(), 1u);  // LAST-ACK
  sink_.Clear();
  // The peer did not see our FIN and sends its FIN again: FIN+ACK again.
  Feed(From(1001, iss + 1, kAck | kFin));
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kFin | kAck);
  EXPECT_EQ(sink_.Last().seq, iss + 1);
  Feed(From(1002, iss + 2, kAck));  // acks our FIN: CLOSED
  EXPECT_EQ(engine_.established(), 0u);
  EXPECT_EQ(engine_.stats().closed, 1u);
}

TEST_F(ServerTest, FinWithDataInEchoMode) {
  engine_ = ServerEngine(Config(ServeMode::kEcho), SipKey{1, 2}, SipKey{3, 4}, 99);
  uint32_t iss = Handshake();
  Feed(From(1001, iss + 1, kAck | kFin, "bye"));
  ASSERT_EQ(sink_.size(), 2u);
  EXPECT_EQ(std::string(sink_.At(0).payload.begin(), sink_.At(0).payload.end()), "bye");
  EXPECT_EQ(sink_.At(1).flags, kFin | kAck);
  EXPECT_EQ(sink_.At(1).seq, iss + 4);
  EXPECT_EQ(sink_.At(1).ack, 1005u);
}

TEST_F(ServerTest, ExactResetCloses) {
  Handshake();
  Feed(From(1001, 0, kRst));
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(engine_.established(), 0u);
  EXPECT_EQ(engine_.stats().reset_by_peer, 1u);
}

TEST_F(ServerTest, InWindowResetGetsChallengeAck) {
  uint32_t iss = Handshake();
  Feed(From(1500, 0, kRst));  // RFC 5961 3.2: in window, not exact
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kAck);
  EXPECT_EQ(sink_.Last().seq, iss + 1);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(engine_.established(), 1u);
  sink_.Clear();
  Feed(From(1001 + 100000, 0, kRst));  // out of window: silently dropped
  EXPECT_EQ(sink_.size(), 0u);
  EXPECT_EQ(engine_.established(), 1u);
}

TEST_F(ServerTest, SynOnEstablishedGetsChallengeAck) {
  uint32_t iss = Handshake();
  Feed(From(1001, 0, kSyn));  // RFC 5961 4.2
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().flags, kAck);
  EXPECT_EQ(sink_.Last().seq, iss + 1);
  EXPECT_EQ(engine_.established(), 1u);
  EXPECT_EQ(engine_.stats().challenge_acks, 1u);
}

TEST_F(ServerTest, ChallengeAcksAreRateLimitedPerConnection) {
  Handshake();
  for (int i = 0; i < 10; ++i) Feed(From(1001, 0, kSyn));
  EXPECT_EQ(sink_.size(), 1u);  // one per connection per 500 ms
  EXPECT_EQ(engine_.stats().replies_limited, 9u);
  Feed(From(1001, 0, kSyn), kNow + 600'000'000ull);
  EXPECT_EQ(sink_.size(), 2u);
}

// Many connections: the global budget is drawn at random each second in
// [limit/2, 3*limit/2), so counting one's own challenge ACKs says nothing
// exact about other tuples (CVE-2016-5696).
TEST(ServerChallengeBudget, GlobalBudgetIsBoundedAndRandomised) {
  constexpr uint32_t kLimit = 100;
  std::set<uint64_t> seen_budgets;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    ServerConfig c;
    c.ip = kServer;
    c.ports = {80};
    c.challenge_acks_per_s = kLimit;
    ServerEngine engine(c, SipKey{seed, 2}, SipKey{3, seed}, seed);
    RecordingSink sink;
    // 1,000 connections, each then sent a SYN (a challenge ACK each, if allowed).
    auto from = [&](uint16_t port, uint32_t seq, uint32_t ack, uint8_t flags) {
      wire::SegmentSpec s;
      s.src_ip = kPeer;
      s.dst_ip = kServer;
      s.src_port = port;
      s.dst_port = 80;
      s.seq = seq, s.ack = ack, s.flags = flags, s.window = 64000;
      return s;
    };
    for (uint16_t p = 1000; p < 2000; ++p) {
      engine.Input(Packet(from(p, 5000, 0, kSyn)), kNow, sink);
      uint32_t iss = sink.Last().seq;
      engine.Input(Packet(from(p, 5001, iss + 1, kAck)), kNow, sink);
    }
    ASSERT_EQ(engine.established(), 1000u);
    sink.Clear();
    for (uint16_t p = 1000; p < 2000; ++p) engine.Input(Packet(from(p, 5001, 0, kSyn)), kNow, sink);
    uint64_t sent = engine.stats().challenge_acks;
    EXPECT_GE(sent, kLimit / 2);
    EXPECT_LT(sent, kLimit * 3 / 2);
    EXPECT_EQ(sent + engine.stats().replies_limited, 1000u);
    seen_budgets.insert(sent);
  }
  EXPECT_GT(seen_budgets.size(), 1u) << "the budget is the same every time";
}

TEST_F(ServerTest, OutOfWindowBurstIsAnsweredAtMostOncePerInterval) {
  uint32_t iss = Handshake();
  for (int i = 0; i < 1000; ++i) Feed(From(900'000 + i, iss + 1, kAck, "junk"), kNow + uint64_t(i) * 1'000'000);
  // 1,000 segments over one second: at most one reply per 500 ms.
  EXPECT_LE(sink_.size(), 2u);
  EXPECT_GE(sink_.size(), 1u);
  EXPECT_EQ(engine_.stats().dup_acks, 1000u);
  EXPECT_EQ(engine_.stats().replies_limited, 1000u - sink_.size());
  sink_.Clear();
  for (int i = 0; i < 1000; ++i) Feed(From(1001, iss + 100 + i, kAck), kNow + 2'000'000'000ull);  // ACK > SND.NXT
  EXPECT_EQ(sink_.size(), 1u);
}

TEST_F(ServerTest, AckCheck) {
  uint32_t iss = Handshake();
  Feed(From(1001, iss + 50, kAck, "x"));  // acks data never sent: ACK, drop
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().ack, 1001u);
  EXPECT_EQ(engine_.stats().bytes_in, 0u);
  sink_.Clear();
  Feed(From(1001, iss + 1 - (3u << 29), kAck, "x"), kNow + 1'000'000'000ull);  // far too old: challenge ACK (RFC 5961 5.2)
  EXPECT_EQ(engine_.stats().challenge_acks, 1u);
  EXPECT_EQ(engine_.stats().bytes_in, 0u);
  sink_.Clear();
  Feed(From(1001, 0, 0, "x"));  // no ACK bit: dropped
  EXPECT_EQ(sink_.size(), 0u);
}

TEST_F(ServerTest, TimestampsEchoedOnEveryReply) {
  uint32_t iss = Handshake(1000, true);
  wire::SegmentSpec d = From(1001, iss + 1, kAck, "hi");
  d.timestamps = true;
  d.ts_val = 777;
  Feed(d);
  ASSERT_TRUE(sink_.Last().options.has_timestamps);
  EXPECT_EQ(sink_.Last().options.ts_ecr, 777u);
}

TEST_F(ServerTest, WindowScaleRidesInTimestampThroughCookie) {
  wire::SegmentSpec syn = From(1000, 0, kSyn);
  syn.timestamps = true;
  syn.ts_val = 1;
  syn.wscale = 7;
  Feed(syn);
  wire::Segment sa = sink_.Last();
  EXPECT_EQ(sa.options.ts_val & 0xf, 7u);
  EXPECT_EQ(sa.options.wscale, 0);
  wire::SegmentSpec ack = From(1001, sa.seq + 1, kAck);
  ack.timestamps = true;
  ack.ts_ecr = sa.options.ts_val;
  Feed(ack);
  Conn* c = nullptr;
  const_cast<ConnTable&>(engine_.table()).ForEach([&](const Conn& x) { c = const_cast<Conn*>(&x); });
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->peer_wscale(), 7u);
  EXPECT_TRUE(c->ts_ok());
  EXPECT_EQ(c->mss_index(), 0u);  // no MSS option: 536
}

TEST_F(ServerTest, WindowScaleNeedsTimestampsWithCookies) {
  wire::SegmentSpec syn = From(1000, 0, kSyn);
  syn.wscale = 7;
  Feed(syn);
  EXPECT_EQ(sink_.Last().options.wscale, -1);  // as Linux: no TS, no WS
}

TEST_F(ServerTest, EchoTakesOnlyWhatFitsThePeersWindow) {
  engine_ = ServerEngine(Config(ServeMode::kEcho), SipKey{1, 2}, SipKey{3, 4}, 99);
  uint32_t iss = Handshake();
  wire::SegmentSpec d = From(1001, iss + 1, kAck | kFin, "abcdefgh");
  d.window = 3;  // the peer can take 3 bytes of echo
  Feed(d);
  ASSERT_EQ(sink_.size(), 1u);
  wire::Segment e = sink_.Last();
  EXPECT_EQ(std::string(e.payload.begin(), e.payload.end()), "abc");
  EXPECT_EQ(e.ack, 1004u);  // the rest (and the FIN) stays unacknowledged
  EXPECT_EQ(engine_.stats().window_limited, 1u);
  sink_.Clear();
  d = From(1004, iss + 4, kAck, "defgh");
  d.window = 0;  // a zero window: nothing taken, a plain ACK
  Feed(d);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_TRUE(sink_.Last().payload.empty());
  EXPECT_EQ(sink_.Last().ack, 1004u);
  sink_.Clear();
  d.window = 100;  // the retransmission, now with room: echoed
  Feed(d);
  EXPECT_EQ(std::string(sink_.Last().payload.begin(), sink_.Last().payload.end()), "defgh");
  EXPECT_EQ(sink_.Last().seq, iss + 4);
}

TEST_F(ServerTest, DataOnFinalAckIsTaken) {
  Feed(From(1000, 0, kSyn));
  uint32_t iss = sink_.Last().seq;
  sink_.Clear();
  Feed(From(1001, iss + 1, kAck | kPsh, "GET"));
  EXPECT_EQ(engine_.established(), 1u);
  ASSERT_EQ(sink_.size(), 1u);
  EXPECT_EQ(sink_.Last().ack, 1004u);
}

TEST_F(ServerTest, MalformedPacketsCountedByReason) {
  std::vector<uint8_t> p = Packet(From(1, 0, kSyn));
  p[25] ^= 0xff;
  engine_.Input(p, kNow, sink_);
  EXPECT_EQ(engine_.stats().drops[size_t(wire::DropReason::kBadTcpChecksum)], 1u);
  EXPECT_EQ(sink_.size(), 0u);
}

TEST_F(ServerTest, SecondPortIsSeparateConnection) {
  Handshake();
  wire::SegmentSpec syn = From(1000, 0, kSyn);
  syn.dst_port = 8080;
  Feed(syn);
  uint32_t iss = sink_.Last().seq;
  wire::SegmentSpec ack = From(1001, iss + 1, kAck);
  ack.dst_port = 8080;
  Feed(ack);
  EXPECT_EQ(engine_.established(), 2u);
}

}  // namespace

TEST_F(ServerTest, TimestampsCarryAPerConnectionOffsetNotTheUptime) {
  wire::SegmentSpec a = From(1000, 0, kSyn);
  a.timestamps = true;
  Feed(a);
  uint32_t ts_a = sink_.Last().options.ts_val;
  wire::SegmentSpec b = a;
  b.src_port = 40001;
  Feed(b);
  uint32_t ts_b = sink_.Last().options.ts_val;
  EXPECT_NE(ts_a >> 4, ts_b >> 4) << "two connections share one clock";
  EXPECT_NE(ts_a >> 4, TsClock(kNow) >> 4) << "TSval reveals CLOCK_MONOTONIC";
  Feed(a, kNow + 5'000'000'000ull);  // the same tuple later: the same offset, so 5,000 ms on
  EXPECT_EQ((sink_.Last().options.ts_val - ts_a) >> 4, 5000u >> 4);
}

TEST(ServerTableCap, FinalAckPastTheCapIsResetAndCounted) {
  ServerConfig c;
  c.ip = kServer;
  c.ports = {80};
  c.max_connections = 3;
  ServerEngine engine(c, SipKey{1, 2}, SipKey{3, 4}, 9);
  RecordingSink sink;
  for (uint16_t p = 1000; p < 1005; ++p) {
    wire::SegmentSpec s;
    s.src_ip = kPeer, s.dst_ip = kServer, s.src_port = p, s.dst_port = 80, s.seq = 7, s.flags = kSyn;
    s.window = 1000;
    engine.Input(Packet(s), kNow, sink);
    s.seq = 8, s.ack = sink.Last().seq + 1, s.flags = kAck;
    engine.Input(Packet(s), kNow, sink);
  }
  EXPECT_EQ(engine.established(), 3u);
  EXPECT_EQ(engine.stats().table_full, 2u);
  EXPECT_EQ(sink.Last().flags, kRst) << "the peer is told, not left half-open";
}

}  // namespace tcpmax::userland::tcp

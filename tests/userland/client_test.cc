// The stateless client: tuple enumeration, keyed ISNs, SYN-SENT handling of
// SYN-ACK and RST (RFC 9293 3.10.7.3), resend passes and verification probes;
// and the client against the server engine with no link in between.
#include "userland/tcp/client.h"

#include <gtest/gtest.h>

#include <set>

#include "test_sink.h"
#include "userland/tcp/server.h"

namespace tcpmax::userland::tcp {
namespace {

using testing::Packet;
using testing::RecordingSink;
using wire::kAck;
using wire::kRst;
using wire::kSyn;

constexpr uint32_t kServer = 0xc6120001;
constexpr uint64_t kSec = 1'000'000'000ull;

ClientConfig Config(uint64_t n) {
  ClientConfig c;
  c.src_base = 0xc6130000;
  c.src_count = 16;
  c.sport_lo = 2000;
  c.sport_count = 100;
  c.dst_ip = kServer;
  c.dst_ports = {80, 81};
  c.connections = n;
  c.max_passes = 3;
  c.probe_rounds = 2;
  return c;
}

TEST(ClientTest, TuplesAreDistinctAndInvertible) {
  ClientEngine e(Config(3200), SipKey{5, 6});
  std::set<std::tuple<uint32_t, uint16_t, uint16_t>> seen;
  for (uint64_t i = 0; i < 3200; ++i) {
    auto t = e.TupleAt(i);
    EXPECT_TRUE(seen.insert({t.src_ip, t.src_port, t.dst_port}).second);
    uint64_t back = 0;
    ASSERT_TRUE(e.IndexOf(t.src_ip, t.src_port, t.dst_port, &back));
    EXPECT_EQ(back, i);
  }
  uint64_t i;
  EXPECT_FALSE(e.IndexOf(0xc6130000 + 16, 2000, 80, &i));  // outside the range
  EXPECT_FALSE(e.IndexOf(0xc6130000, 2000, 82, &i));
  EXPECT_FALSE(e.IndexOf(0xc6130000, 1999, 80, &i));
  EXPECT_EQ(e.TupleAt(0).src_ip + 1, e.TupleAt(1).src_ip);  // addresses vary fastest
}

TEST(ClientTest, SynAckValidatedByAckNumber) {
  ClientEngine e(Config(10), SipKey{5, 6});
  RecordingSink out;
  EXPECT_EQ(e.SendSyns(100, 0, out), 10u);
  wire::Segment syn = out.At(3);
  EXPECT_EQ(syn.flags, kSyn);
  EXPECT_EQ(syn.options.mss, 1460);
  out.Clear();
  wire::SegmentSpec sa;
  sa.src_ip = kServer;
  sa.dst_ip = syn.src_ip;
  sa.src_port = syn.dst_port;
  sa.dst_port = syn.src_port;
  sa.seq = 9000;
  sa.ack = syn.seq + 2;  // wrong
  sa.flags = kSyn | kAck;
  e.Input(Packet(sa), 0, out);
  EXPECT_EQ(e.stats().bad_acks, 1u);
  EXPECT_EQ(out.Last().flags, kRst);
  EXPECT_EQ(out.Last().seq, syn.seq + 2);
  out.Clear();
  sa.ack = syn.seq + 1;
  e.Input(Packet(sa), 0, out);
  EXPECT_EQ(e.stats().established, 1u);
  EXPECT_TRUE(e.IsEstablished(3));
  EXPECT_EQ(out.Last().flags, kAck);
  EXPECT_EQ(out.Last().seq, syn.seq + 1);
  EXPECT_EQ(out.Last().ack, 9001u);
  e.Input(Packet(sa), 0, out);  // retransmitted SYN-ACK: ACK again, count once
  EXPECT_EQ(e.stats().established, 1u);
  EXPECT_EQ(e.stats().synack_dups, 1u);
}

TEST(ClientTest, RstToSynIsRefusedAndNotResent) {
  ClientEngine e(Config(2), SipKey{5, 6});
  RecordingSink out;
  e.SendSyns(10, 0, out);
  wire::Segment syn = out.At(0);
  wire::SegmentSpec r;
  r.src_ip = kServer;
  r.dst_ip = syn.src_ip;
  r.src_port = syn.dst_port;
  r.dst_port = syn.src_port;
  r.ack = syn.seq + 1;
  r.flags = kRst | kAck;
  e.Input(Packet(r), 0, out);
  EXPECT_EQ(e.stats().refused, 1u);
  out.Clear();
  EXPECT_EQ(e.SendSyns(10, 0, out), 0u);  // waiting for the resend time
  EXPECT_EQ(e.SendSyns(10, 2 * kSec, out), 1u);  // only the unanswered tuple
  EXPECT_EQ(e.stats().syns_resent, 1u);
  EXPECT_FALSE(e.HandshakesDone(2 * kSec));
  e.SendSyns(10, 4 * kSec, out);
  EXPECT_TRUE(e.HandshakesDone(6 * kSec));  // three passes, then give up
  EXPECT_EQ(e.SendSyns(10, 9 * kSec, out), 0u);
}

// Carries packets between a client and a server engine, optionally losing some.
struct Wire {
  ClientEngine* client;
  ServerEngine* server;
  RecordingSink to_server, to_client;
  uint64_t n = 0;
  uint32_t drop_every = 0;  // drop every k-th packet towards the server

  void Pump(uint64_t now) {
    for (int rounds = 0; rounds < 10 && (to_server.size() || to_client.size()); ++rounds) {
      auto a = std::move(to_server.packets);
      to_server.packets.clear();
      for (auto& p : a) {
        if (drop_every && ++n % drop_every == 0) continue;
        server->Input(p, now, to_client);
      }
      auto b = std::move(to_client.packets);
      to_client.packets.clear();
      for (auto& p : b) client->Input(p, now, to_server);
    }
  }
};

TEST(ClientTest, AgainstServerEngineWithLossThenVerify) {
  ServerConfig sc;
  sc.ip = kServer;
  sc.ports = {80, 81};
  ServerEngine server(sc, SipKey{1, 2}, SipKey{3, 4}, 7);
  ClientEngine client(Config(3000), SipKey{5, 6});
  Wire w{&client, &server};
  w.drop_every = 7;  // loses SYNs and final ACKs alike
  uint64_t now = 100 * kSec;
  while (!client.HandshakesDone(now)) {
    client.SendSyns(1000, now, w.to_server);
    w.Pump(now);
    now += kSec / 2;
  }
  // A lost final ACK leaves the client established but not the server.
  EXPECT_GT(client.stats().established, 2900u);
  EXPECT_LE(server.established(), client.stats().established);
  uint64_t lost_acks = client.stats().established - server.established();
  w.drop_every = 0;
  client.StartVerify(1u << 20, 1);  // every established tuple
  EXPECT_EQ(client.verify_chosen(), client.stats().established);
  while (!client.VerifyDone(now)) {
    client.SendProbes(10000, now, w.to_server);
    w.Pump(now);
    now += kSec / 2;
  }
  EXPECT_EQ(client.stats().verify_answered, server.established());
  EXPECT_EQ(client.stats().verify_reset, lost_acks);
  EXPECT_EQ(client.verify_lost(), 0u);
}

TEST(ClientTest, RandomVerifySampleIsDistinct) {
  ServerConfig sc;
  sc.ip = kServer;
  sc.ports = {80, 81};
  ServerEngine server(sc, SipKey{1, 2}, SipKey{3, 4}, 7);
  ClientEngine client(Config(2000), SipKey{5, 6});
  Wire w{&client, &server};
  client.SendSyns(5000, 0, w.to_server);
  w.Pump(0);
  ASSERT_EQ(server.established(), 2000u);
  client.StartVerify(500, 42);
  EXPECT_EQ(client.verify_chosen(), 500u);
  client.SendProbes(5000, 0, w.to_server);
  EXPECT_EQ(w.to_server.size(), 500u);
  w.Pump(0);
  EXPECT_EQ(client.stats().verify_answered, 500u);
  EXPECT_TRUE(client.VerifyDone(0));
}

}  // namespace

// RFC 5961 3.2 on the client: a RST counts only on an exact match.
TEST(ClientTest, BlindRstForAnEstablishedTupleIsIgnoredAndAProbeRstMustMatch) {
  ClientEngine e(Config(1), SipKey{5, 6});
  RecordingSink out;
  e.SendSyns(1, 0, out);
  wire::Segment syn = out.Last();
  wire::SegmentSpec sa;
  sa.src_ip = kServer, sa.dst_ip = syn.src_ip, sa.src_port = syn.dst_port, sa.dst_port = syn.src_port;
  sa.seq = 9000, sa.ack = syn.seq + 1, sa.flags = kSyn | kAck;
  e.Input(Packet(sa), 0, out);
  ASSERT_TRUE(e.IsEstablished(0));
  wire::SegmentSpec rst = sa;
  rst.flags = kRst;
  for (uint32_t guess : {9001u, 9000u, 0u, 12345u}) {
    rst.seq = guess;
    e.Input(Packet(rst), 0, out);
  }
  EXPECT_TRUE(e.IsEstablished(0)) << "a blind RST tore down a connection";
  EXPECT_EQ(e.stats().rst_ignored, 4u);
  EXPECT_EQ(e.stats().established, 1u);
  // Verification: the probe's SEG.ACK is what a peer that lost the
  // connection echoes as SEG.SEQ of its RST; only that RST counts.
  e.StartVerify(1, 1);
  out.Clear();
  e.SendProbes(1, 0, out);
  ASSERT_EQ(out.size(), 1u);
  uint32_t probe_ack = out.Last().ack;
  EXPECT_EQ(probe_ack, e.ProbeAck(e.TupleAt(0)));
  rst.seq = probe_ack + 1;
  e.Input(Packet(rst), 0, out);
  EXPECT_EQ(e.stats().verify_reset, 0u);
  rst.seq = probe_ack;
  e.Input(Packet(rst), 0, out);
  EXPECT_EQ(e.stats().verify_reset, 1u);
}

}  // namespace tcpmax::userland::tcp

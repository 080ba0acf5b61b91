#include "userland/wire/segment.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_sink.h"

namespace tcpmax::userland::wire {
namespace {

using testing::Packet;

SegmentSpec Spec() {
  SegmentSpec s;
  s.src_ip = 0xc6130001;
  s.dst_ip = 0xc6120001;
  s.src_port = 40000;
  s.dst_port = 80;
  s.seq = 0xfffffff0u;
  s.ack = 17;
  s.flags = kSyn | kAck;
  s.window = 29200;
  return s;
}

TEST(SegmentTest, RoundTripWithAllOptions) {
  SegmentSpec s = Spec();
  s.mss = 1460;
  s.wscale = 7;
  s.sack_permitted = true;
  s.timestamps = true;
  s.ts_val = 0x11223344;
  s.ts_ecr = 0x55667788;
  std::vector<uint8_t> p = Packet(s);
  ASSERT_EQ(p.size(), 20u + 20u + 20u);
  Segment g;
  ParseResult r = ParseSegment(p, &g);
  ASSERT_TRUE(r.ok) << DropReasonName(r.reason);
  EXPECT_EQ(g.src_ip, s.src_ip);
  EXPECT_EQ(g.dst_ip, s.dst_ip);
  EXPECT_EQ(g.src_port, 40000);
  EXPECT_EQ(g.dst_port, 80);
  EXPECT_EQ(g.seq, s.seq);
  EXPECT_EQ(g.ack, 17u);
  EXPECT_EQ(g.flags, kSyn | kAck);
  EXPECT_EQ(g.window, 29200);
  EXPECT_EQ(g.options.mss, 1460);
  EXPECT_EQ(g.options.wscale, 7);
  EXPECT_TRUE(g.options.sack_permitted);
  EXPECT_TRUE(g.options.has_timestamps);
  EXPECT_EQ(g.options.ts_val, 0x11223344u);
  EXPECT_EQ(g.options.ts_ecr, 0x55667788u);
  EXPECT_EQ(g.SegLen(), 1u);
}

TEST(SegmentTest, PayloadAndSegLen) {
  SegmentSpec s = Spec();
  s.flags = kAck | kFin;
  std::vector<uint8_t> data = {'h', 'e', 'l', 'l', 'o'};
  s.payload = data;
  std::vector<uint8_t> p = Packet(s);
  Segment g;
  ASSERT_TRUE(ParseSegment(p, &g).ok);
  EXPECT_EQ(std::vector<uint8_t>(g.payload.begin(), g.payload.end()), data);
  EXPECT_EQ(g.SegLen(), 6u);
  EXPECT_EQ(g.options.wscale, -1);
  EXPECT_FALSE(g.options.has_timestamps);
}

// A SYN with the options Linux sends (MSS 1460, SACK-permitted, timestamps,
// window scale 7): laid out byte for byte as Linux does, IP checksum valid.
TEST(SegmentTest, SynOptionsLaidOutLikeLinux) {
  SegmentSpec s;
  s.src_ip = 0x0a000001;
  s.dst_ip = 0x0a000002;
  s.src_port = 33000;
  s.dst_port = 80;
  s.seq = 1;
  s.flags = kSyn;
  s.window = 64240;
  s.mss = 1460;
  s.sack_permitted = true;
  s.timestamps = true;
  s.ts_val = 1;
  s.wscale = 7;
  std::vector<uint8_t> p = Packet(s);
  // Independent check of both checksums: a valid packet sums to zero.
  EXPECT_EQ(p[0], 0x45);
  uint32_t ip_sum = 0;
  for (int i = 0; i < 20; i += 2) ip_sum += (p[i] << 8) | p[i + 1];
  while (ip_sum >> 16) ip_sum = (ip_sum & 0xffff) + (ip_sum >> 16);
  EXPECT_EQ(ip_sum, 0xffffu);
  // Options laid out as Linux does: MSS, SACK-perm + TS, NOP + WS.
  const uint8_t want[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  EXPECT_EQ(std::vector<uint8_t>(p.begin() + 40, p.end()), std::vector<uint8_t>(std::begin(want), std::end(want)));
}

ParseResult ParseBytes(std::vector<uint8_t> p) {
  Segment g;
  return ParseSegment(p, &g);
}

TEST(SegmentTest, DropsMalformedWithReasons) {
  std::vector<uint8_t> good = Packet(Spec());
  ASSERT_TRUE(ParseBytes(good).ok);
  EXPECT_EQ(ParseBytes({good.begin(), good.begin() + 10}).reason, DropReason::kTooShort);
  auto p = good;
  p[0] = 0x55;
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadVersion);
  p = good;
  p[0] = 0x44;
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadIpHeaderLen);
  p = good;
  p[3] = 0xff;
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadTotalLen);
  p = good;
  p[8] ^= 1;  // TTL without fixing the checksum
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadIpChecksum);
  p = good;
  p[30] ^= 1;  // a TCP byte
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadTcpChecksum);
  p = good;
  p.resize(30);
  p[3] = 30;
  p[10] = p[11] = 0;
  // Recompute the IP checksum so only the TCP length is wrong.
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = uint8_t(~sum >> 8);
  p[11] = uint8_t(~sum);
  EXPECT_EQ(ParseBytes(p).reason, DropReason::kBadTcpHeaderLen);
}

TEST(SegmentTest, DropsFragmentsNonTcpBadOptionsAndBadAddresses) {
  SegmentSpec s = Spec();
  std::vector<uint8_t> p = Packet(s);
  Segment g;
  // Flip fields, fixing the checksums with the verification off.
  auto q = p;
  q[6] = 0x20;  // MF
  EXPECT_EQ(ParseSegment(q, &g, false).reason, DropReason::kFragment);
  q = p;
  q[9] = 17;
  EXPECT_EQ(ParseSegment(q, &g, false).reason, DropReason::kNotTcp);
  s.mss = 1460;
  q = Packet(s);
  q[40 + 1] = 9;  // MSS option length past the header
  EXPECT_EQ(ParseSegment(q, &g, false).reason, DropReason::kBadOption);
  q[40 + 1] = 1;  // length < 2
  EXPECT_EQ(ParseSegment(q, &g, false).reason, DropReason::kBadOption);
  s = Spec();
  s.src_ip = 0;
  EXPECT_EQ(ParseSegment(Packet(s), &g).reason, DropReason::kBadAddress);
  s = Spec();
  s.src_ip = 0xe0000001;
  EXPECT_EQ(ParseSegment(Packet(s), &g).reason, DropReason::kBadAddress);
  s = Spec();
  s.dst_port = 0;
  EXPECT_EQ(ParseSegment(Packet(s), &g).reason, DropReason::kBadAddress);
}

TEST(SegmentTest, IgnoresUnknownAndWrongLengthOptionsAndCapsWscale) {
  SegmentSpec s = Spec();
  s.mss = 1460;
  s.wscale = 14;
  std::vector<uint8_t> p = Packet(s);
  // Options: [2 4 05 b4] [1 3 3 14]. Make the window scale 20 and the MSS an unknown kind 30.
  p[40] = 30;
  p[47] = 20;
  Segment g;
  ASSERT_TRUE(ParseSegment(p, &g, false).ok);
  EXPECT_EQ(g.options.mss, 0);
  EXPECT_EQ(g.options.wscale, 14);
}

TEST(SegmentTest, BuildRefusesSmallBuffer) {
  std::vector<uint8_t> buf(30);
  EXPECT_EQ(BuildSegment(Spec(), buf), 0u);
}

}  // namespace
}  // namespace tcpmax::userland::wire

#include "userland/wire/resegment.h"

#include <gtest/gtest.h>

#include <vector>

#include "userland/wire/segment.h"

namespace tcpmax::userland::wire {
namespace {

// A data segment with timestamps, as a GSO/GRO packet would carry `n` bytes.
std::vector<uint8_t> BigSegment(size_t n, uint8_t flags) {
  static std::vector<uint8_t> payload;
  payload.resize(n);
  for (size_t i = 0; i < n; ++i) payload[i] = uint8_t(i * 7 + 3);
  SegmentSpec s;
  s.src_ip = 0xc6120002;
  s.dst_ip = 0xc6120001;
  s.src_port = 40000;
  s.dst_port = 80;
  s.seq = 0xfffff000u;  // wraps inside the packet
  s.ack = 99;
  s.flags = flags;
  s.window = 500;
  s.timestamps = true;
  s.ts_val = 1;
  s.ts_ecr = 2;
  s.payload = payload;
  std::vector<uint8_t> out(kMaxHeaders + n);
  out.resize(BuildSegment(s, out));
  return out;
}

TEST(ResegmentTest, AMergedPacketIsCutIntoMtuSizedSegmentsThatParseWithGoodChecksums) {
  std::vector<uint8_t> big = BigSegment(5000, kAck | kPsh | kFin);
  ASSERT_EQ(big.size(), 20u + 32u + 5000u);
  ASSERT_EQ(SegmentsNeeded(big, 1500), 4u);  // 1448 bytes per piece
  std::vector<uint8_t> joined;
  for (size_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> piece(2048);
    size_t len = BuildSegmentPiece(big, 1500, i, piece);
    ASSERT_GT(len, 0u);
    ASSERT_LE(len, 1500u);
    piece.resize(len);
    Segment seg;
    ParseResult r = ParseSegment(piece, &seg);
    ASSERT_TRUE(r.ok) << i << ": " << DropReasonName(r.reason);
    EXPECT_EQ(seg.seq, 0xfffff000u + uint32_t(i * 1448)) << i;
    EXPECT_EQ(seg.Has(kFin), i == 3) << i;
    EXPECT_EQ(seg.Has(kPsh), i == 3) << i;
    EXPECT_TRUE(seg.Has(kAck));
    EXPECT_TRUE(seg.options.has_timestamps);
    EXPECT_EQ(seg.payload.size(), i < 3 ? 1448u : 5000u - 3 * 1448u);
    joined.insert(joined.end(), seg.payload.begin(), seg.payload.end());
  }
  EXPECT_EQ(std::vector<uint8_t>(big.begin() + 52, big.end()), joined);
  std::vector<uint8_t> piece(2048);
  EXPECT_EQ(BuildSegmentPiece(big, 1500, 4, piece), 0u);  // past the last
  std::vector<uint8_t> small(100);
  EXPECT_EQ(BuildSegmentPiece(big, 1500, 0, small), 0u);  // no room
}

TEST(ResegmentTest, APacketThatFitsIsOnePieceAndNonTcpIsNone) {
  std::vector<uint8_t> p = BigSegment(100, kAck);
  EXPECT_EQ(SegmentsNeeded(p, 1500), 1u);
  EXPECT_EQ(SegmentsNeeded(p, 40), 0u);  // headers alone exceed it
  std::vector<uint8_t> udp = p;
  udp[9] = 17;
  EXPECT_EQ(SegmentsNeeded(udp, 1500), 0u);
  std::vector<uint8_t> frag = p;
  frag[6] = 0x20;  // MF
  EXPECT_FALSE(LayoutOfTcp(frag));
  EXPECT_FALSE(LayoutOfTcp(std::vector<uint8_t>(p.begin(), p.begin() + 30)));
}

TEST(ResegmentTest, APartialChecksumIsCompleted) {
  std::vector<uint8_t> p = BigSegment(333, kAck);
  Segment seg;
  p[20 + 16] ^= 0x5a;  // what CHECKSUM_PARTIAL leaves: not the full sum
  EXPECT_FALSE(ParseSegment(p, &seg).ok);
  EXPECT_TRUE(CompleteTcpChecksum(p));
  ParseResult r = ParseSegment(p, &seg);
  EXPECT_TRUE(r.ok) << DropReasonName(r.reason);
  std::vector<uint8_t> udp = p;
  udp[9] = 17;
  EXPECT_FALSE(CompleteTcpChecksum(udp));
}

}  // namespace
}  // namespace tcpmax::userland::wire

namespace tcpmax::userland::wire {
namespace {

// IPv6: a GRO-merged segment is cut at the MTU with the 40-byte header (no IP
// ID, the payload length rewritten), each piece with a good IPv6 pseudo-header
// checksum; a partial checksum is completed.
TEST(ResegmentTest, Ipv6MergedPacketIsCutAndPartialChecksumCompleted) {
  static std::vector<uint8_t> payload(5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 13 + 1);
  SegmentSpec s;
  s.v6 = true;
  s.src_ip6 = Ip6{0x20010db800000000ull, 2};
  s.dst_ip6 = Ip6{0x20010db800000000ull, 1};
  s.src_port = 40000;
  s.dst_port = 80;
  s.seq = 7;
  s.flags = kAck | kPsh | kFin;
  s.timestamps = true;
  s.payload = payload;
  std::vector<uint8_t> big(kMaxHeaders + payload.size());
  big.resize(BuildSegment(s, big));
  ASSERT_EQ(big.size(), 40u + 32u + 5000u);
  ASSERT_EQ(SegmentsNeeded(big, 1500), 4u);  // 1428 bytes per piece
  std::vector<uint8_t> joined;
  for (size_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> piece(2048);
    size_t len = BuildSegmentPiece(big, 1500, i, piece);
    ASSERT_GT(len, 0u);
    ASSERT_LE(len, 1500u);
    piece.resize(len);
    Segment seg;
    ParseResult r = ParseSegment(piece, &seg);
    ASSERT_TRUE(r.ok) << i << ": " << DropReasonName(r.reason);
    EXPECT_TRUE(seg.v6);
    EXPECT_EQ(seg.src_ip6, s.src_ip6);
    EXPECT_EQ(seg.seq, 7u + uint32_t(i * 1428)) << i;
    EXPECT_EQ(seg.Has(kFin), i == 3) << i;
    joined.insert(joined.end(), seg.payload.begin(), seg.payload.end());
  }
  EXPECT_EQ(joined, payload);
  // A partial checksum (the pseudo-header sum only, as CHECKSUM_PARTIAL leaves it).
  std::vector<uint8_t> small(kMaxHeaders + 10);
  s.payload = std::span<const uint8_t>(payload.data(), 10);
  small.resize(BuildSegment(s, small));
  small[56] ^= 0x5a;
  Segment seg;
  EXPECT_EQ(ParseSegment(small, &seg).reason, DropReason::kBadTcpChecksum);
  ASSERT_TRUE(CompleteTcpChecksum(small));
  EXPECT_TRUE(ParseSegment(small, &seg).ok);
  // An extension header is not walked: not cut-able, not completed.
  small[6] = 0;
  EXPECT_EQ(SegmentsNeeded(small, 1500), 0u);
  EXPECT_FALSE(CompleteTcpChecksum(small));
}

}  // namespace
}  // namespace tcpmax::userland::wire

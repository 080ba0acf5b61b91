// IPv4 + TCP segments as the engines see them: parsed from raw packets read
// off the link (never trusted: every malformed packet is dropped with a
// reason), and built into a caller's buffer with both checksums filled in.
//
// A Segment points into the packet buffer it was parsed from (payload), so it
// lives no longer than that buffer. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace tcpmax::userland::wire {

// TCP control bits (RFC 9293 3.1).
enum TcpFlags : uint8_t {
  kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20, kEce = 0x40, kCwr = 0x80,
};

// Why a packet was dropped before reaching a TCP engine.
enum class DropReason : uint8_t {
  kTooShort,        // shorter than an IPv4 header
  kNotIpv4,         // version field is not 4
  kBadIpHeaderLen,  // IHL < 5 or beyond the packet
  kBadTotalLen,     // total length below the header or beyond the packet
  kBadIpChecksum,
  kFragment,        // MF set or a fragment offset: the engines never reassemble
  kNotTcp,          // protocol is not 6
  kBadTcpHeaderLen, // data offset < 5 or beyond the IP payload
  kBadTcpChecksum,
  kBadOption,       // an option whose length runs past the header or is < 2
  kBadAddress,      // source is 0.0.0.0, multicast, broadcast; or port 0
  kCount,
};
inline constexpr size_t kDropReasons = size_t(DropReason::kCount);
std::string_view DropReasonName(DropReason r);

// TCP options the engines understand (RFC 9293 3.2, RFC 7323, RFC 2018).
struct TcpOptions {
  uint16_t mss = 0;         // 0: absent
  int8_t wscale = -1;       // -1: absent; else the shift count (capped at 14, RFC 7323 2.3)
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
};

struct Segment {
  // IPv4, host order.
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint8_t ttl = 0;
  // TCP, host order.
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  TcpOptions options;
  std::span<const uint8_t> payload;

  bool Has(uint8_t f) const { return (flags & f) != 0; }
  // SEG.LEN (RFC 9293 3.3.1): payload plus one for SYN and one for FIN.
  uint32_t SegLen() const {
    return uint32_t(payload.size()) + (Has(kSyn) ? 1 : 0) + (Has(kFin) ? 1 : 0);
  }
};

struct ParseResult {
  bool ok = false;
  DropReason reason = DropReason::kTooShort;  // meaningful when !ok
};

// Parses an IPv4 packet carrying TCP (as read from a TUN with IFF_NO_PI).
// `verify_checksums` false skips both checksums (for the fuzzer's deeper paths).
ParseResult ParseSegment(std::span<const uint8_t> packet, Segment* out, bool verify_checksums = true);

// What to put in an outgoing segment. Options are written in the order Linux
// uses (MSS, SACK-permitted+TS or NOP NOP TS, NOP WS) and padded to 4 bytes.
struct SegmentSpec {
  uint32_t src_ip = 0, dst_ip = 0;
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t mss = 0;           // 0: no MSS option
  int8_t wscale = -1;         // -1: no window-scale option
  bool sack_permitted = false;
  bool timestamps = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  std::span<const uint8_t> payload;
};

inline constexpr size_t kIpHeaderLen = 20;
inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kMaxOptionsLen = 40;
inline constexpr size_t kMaxHeaders = kIpHeaderLen + kTcpHeaderLen + kMaxOptionsLen;

// Writes the packet into `buf` and returns its length, or 0 when `buf` is too
// small. The IP ID is 0 with DF set (RFC 6864: atomic datagrams).
size_t BuildSegment(const SegmentSpec& spec, std::span<uint8_t> buf);

}  // namespace tcpmax::userland::wire

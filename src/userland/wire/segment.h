// IPv4 or IPv6 + TCP segments as the engines see them: parsed from raw
// packets read off the link (never trusted: every malformed packet is dropped
// with a reason), and built into a caller's buffer with the checksums filled
// in (IPv4 header and TCP; IPv6 has no header checksum, RFC 8200 3).
//
// IPv6 (RFC 8200): a 40-byte fixed header whose Next Header is TCP. Extension
// headers (hop-by-hop, routing, fragment, destination options, AH, ESP,
// mobility, HIP, shim6) are not walked: such a packet is dropped as
// ipv6_extension_header. A v6 Segment also carries the low 32 bits of each
// address in src_ip/dst_ip, the part a /96 prefix leaves to the host (the
// engines key connections by it plus an index of the prefix).
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
  kBadVersion,      // version field is neither 4 nor 6
  kBadIpHeaderLen,  // IHL < 5 or beyond the packet
  kBadTotalLen,     // total length below the header or beyond the packet
  kBadIpChecksum,
  kFragment,        // MF set or a fragment offset: the engines never reassemble
  kNotTcp,          // protocol (IPv6: next header) is not 6
  kExtensionHeader, // IPv6 next header is an extension header: not walked
  kBadTcpHeaderLen, // data offset < 5 or beyond the IP payload
  kBadTcpChecksum,
  kBadOption,       // an option whose length runs past the header or is < 2
  kBadAddress,      // source is 0.0.0.0, multicast, broadcast (IPv6: ::, ff00::/8,
                    // ::ffff:0:0/96); or port 0
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

// An IPv6 address in host order: hi holds bytes 0-7, lo bytes 8-15.
struct Ip6 {
  uint64_t hi = 0;
  uint64_t lo = 0;
  // The /96 prefix (the low 32 bits cleared) and the host part.
  Ip6 Prefix96() const { return Ip6{hi, lo & ~uint64_t(0xffffffff)}; }
  uint32_t Low32() const { return uint32_t(lo); }
  friend bool operator==(const Ip6&, const Ip6&) = default;
};
Ip6 Ip6FromBytes(const uint8_t* p);       // 16 bytes, network order
void Ip6ToBytes(const Ip6& a, uint8_t* p);

struct Segment {
  bool v6 = false;
  // IPv4, host order; for IPv6 the low 32 bits of the addresses.
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  Ip6 src_ip6, dst_ip6;  // IPv6 only
  uint8_t ttl = 0;       // IPv6: hop limit
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

// Parses an IPv4 or IPv6 packet carrying TCP (as read from a TUN with IFF_NO_PI).
// `verify_checksums` false skips both checksums (for the fuzzer's deeper paths).
ParseResult ParseSegment(std::span<const uint8_t> packet, Segment* out, bool verify_checksums = true);

// What to put in an outgoing segment. Options are written in the order Linux
// uses (MSS, SACK-permitted+TS or NOP NOP TS, NOP WS) and padded to 4 bytes.
struct SegmentSpec {
  bool v6 = false;
  uint32_t src_ip = 0, dst_ip = 0;  // IPv4
  Ip6 src_ip6, dst_ip6;             // IPv6 (when v6)
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
inline constexpr size_t kIp6HeaderLen = 40;
inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kMaxOptionsLen = 40;
inline constexpr size_t kMaxHeaders = kIp6HeaderLen + kTcpHeaderLen + kMaxOptionsLen;

// Writes the packet into `buf` and returns its length, or 0 when `buf` is too
// small. IPv4: the IP ID is 0 with DF set (RFC 6864: atomic datagrams).
// IPv6: traffic class and flow label 0, hop limit 64, no extension header.
size_t BuildSegment(const SegmentSpec& spec, std::span<uint8_t> buf);

}  // namespace tcpmax::userland::wire

#include "userland/wire/segment.h"

#include <cstring>

#include "userland/wire/checksum.h"
#include "userland/wire/bytes.h"

namespace tcpmax::userland::wire {
namespace {

ParseResult Fail(DropReason r) { return ParseResult{false, r}; }

// RFC 9293 3.2: kind 0 ends the list, kind 1 is one byte, every other option
// carries a length >= 2 that must stay inside the header. Options of a known
// kind with the wrong length are ignored, as Linux does (tcp_parse_options).
bool ParseOptions(const uint8_t* p, size_t len, TcpOptions* o) {
  size_t i = 0;
  while (i < len) {
    uint8_t kind = p[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= len) return false;
    uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return false;
    const uint8_t* v = p + i + 2;
    if (kind == 2 && olen == 4) {
      o->mss = Load16(v);
    } else if (kind == 3 && olen == 3) {
      o->wscale = int8_t(v[0] > 14 ? 14 : v[0]);  // RFC 7323 2.3: cap at 14
    } else if (kind == 4 && olen == 2) {
      o->sack_permitted = true;
    } else if (kind == 8 && olen == 10) {
      o->has_timestamps = true;
      o->ts_val = Load32(v);
      o->ts_ecr = Load32(v + 4);
    }
    i += olen;
  }
  return true;
}

bool BadSource(uint32_t ip) {
  return ip == 0 || (ip >> 28) == 0xe || ip == 0xffffffffu;
}

size_t WriteOptions(const SegmentSpec& s, uint8_t* p) {
  size_t n = 0;
  if (s.mss != 0) {
    p[n] = 2, p[n + 1] = 4;
    Store16(p + n + 2, s.mss);
    n += 4;
  }
  if (s.timestamps) {
    if (s.sack_permitted) {
      p[n] = 4, p[n + 1] = 2;
    } else {
      p[n] = 1, p[n + 1] = 1;
    }
    p[n + 2] = 8, p[n + 3] = 10;
    Store32(p + n + 4, s.ts_val);
    Store32(p + n + 8, s.ts_ecr);
    n += 12;
  } else if (s.sack_permitted) {
    p[n] = 1, p[n + 1] = 1, p[n + 2] = 4, p[n + 3] = 2;
    n += 4;
  }
  if (s.wscale >= 0) {
    p[n] = 1, p[n + 1] = 3, p[n + 2] = 3, p[n + 3] = uint8_t(s.wscale);
    n += 4;
  }
  return n;
}

}  // namespace

std::string_view DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kTooShort: return "too_short";
    case DropReason::kBadVersion: return "bad_ip_version";
    case DropReason::kBadIpHeaderLen: return "bad_ip_header_len";
    case DropReason::kBadTotalLen: return "bad_total_len";
    case DropReason::kBadIpChecksum: return "bad_ip_checksum";
    case DropReason::kFragment: return "fragment";
    case DropReason::kNotTcp: return "not_tcp";
    case DropReason::kExtensionHeader: return "ipv6_extension_header";
    case DropReason::kBadTcpHeaderLen: return "bad_tcp_header_len";
    case DropReason::kBadTcpChecksum: return "bad_tcp_checksum";
    case DropReason::kBadOption: return "bad_option";
    case DropReason::kBadAddress: return "bad_address";
    case DropReason::kCount: break;
  }
  return "unknown";
}

Ip6 Ip6FromBytes(const uint8_t* p) {
  return Ip6{(uint64_t(Load32(p)) << 32) | Load32(p + 4), (uint64_t(Load32(p + 8)) << 32) | Load32(p + 12)};
}

void Ip6ToBytes(const Ip6& a, uint8_t* p) {
  Store32(p, uint32_t(a.hi >> 32));
  Store32(p + 4, uint32_t(a.hi));
  Store32(p + 8, uint32_t(a.lo >> 32));
  Store32(p + 12, uint32_t(a.lo));
}

namespace {

// RFC 8200 4 and the IANA list of IPv6 extension header types.
bool IsExtensionHeader(uint8_t next) {
  switch (next) {
    case 0: case 43: case 44: case 50: case 51: case 60: case 135: case 139: case 140: return true;
    default: return false;
  }
}

// Unspecified, multicast (ff00::/8) or IPv4-mapped (::ffff:0:0/96, RFC 4291
// 2.5.5.2: never on the wire) sources.
bool BadSource6(const Ip6& a) {
  if (a.hi == 0 && a.lo == 0) return true;
  if ((a.hi >> 56) == 0xff) return true;
  return a.hi == 0 && (a.lo >> 32) == 0xffff;
}

// The TCP header and payload at `tcp` (`tcp_len` bytes), whose addresses are
// in `out` already; `sum` is the pseudo-header sum of its IP layer.
ParseResult ParseTcp(const uint8_t* tcp, size_t tcp_len, uint32_t sum, bool verify_checksums, Segment* out) {
  if (tcp_len < kTcpHeaderLen) return Fail(DropReason::kBadTcpHeaderLen);
  size_t doff = size_t(tcp[12] >> 4) * 4;
  if (doff < kTcpHeaderLen || doff > tcp_len) return Fail(DropReason::kBadTcpHeaderLen);
  if (verify_checksums && ChecksumFinish(ChecksumAdd(sum, {tcp, tcp_len})) != 0) {
    return Fail(DropReason::kBadTcpChecksum);
  }
  out->src_port = Load16(tcp);
  out->dst_port = Load16(tcp + 2);
  bool bad_source = out->v6 ? BadSource6(out->src_ip6) : BadSource(out->src_ip);
  if (bad_source || out->src_port == 0 || out->dst_port == 0) return Fail(DropReason::kBadAddress);
  out->seq = Load32(tcp + 4);
  out->ack = Load32(tcp + 8);
  out->flags = tcp[13];
  out->window = Load16(tcp + 14);
  out->options = TcpOptions{};
  if (!ParseOptions(tcp + kTcpHeaderLen, doff - kTcpHeaderLen, &out->options)) {
    return Fail(DropReason::kBadOption);
  }
  out->payload = std::span<const uint8_t>(tcp + doff, tcp_len - doff);
  return ParseResult{true, DropReason::kCount};
}

ParseResult ParseSegment4(std::span<const uint8_t> pkt, Segment* out, bool verify_checksums) {
  if (pkt.size() < kIpHeaderLen) return Fail(DropReason::kTooShort);
  const uint8_t* ip = pkt.data();
  size_t ihl = size_t(ip[0] & 0xf) * 4;
  if (ihl < kIpHeaderLen || ihl > pkt.size()) return Fail(DropReason::kBadIpHeaderLen);
  size_t total = Load16(ip + 2);
  if (total < ihl || total > pkt.size()) return Fail(DropReason::kBadTotalLen);
  if (verify_checksums && Checksum(pkt.subspan(0, ihl)) != 0) return Fail(DropReason::kBadIpChecksum);
  if ((Load16(ip + 6) & 0x3fff) != 0) return Fail(DropReason::kFragment);  // MF or offset
  if (ip[9] != 6) return Fail(DropReason::kNotTcp);
  size_t tcp_len = total - ihl;
  if (tcp_len < kTcpHeaderLen) return Fail(DropReason::kBadTcpHeaderLen);
  out->v6 = false;
  out->src_ip = Load32(ip + 12);
  out->dst_ip = Load32(ip + 16);
  out->ttl = ip[8];
  uint32_t sum = PseudoHeaderSum(out->src_ip, out->dst_ip, 6, uint16_t(tcp_len));
  return ParseTcp(ip + ihl, tcp_len, sum, verify_checksums, out);
}

// RFC 8200 3: version, traffic class, flow label, payload length, next
// header, hop limit, source, destination. A payload length of 0 would mean a
// jumbogram (RFC 2675), which needs a hop-by-hop option: dropped with them.
ParseResult ParseSegment6(std::span<const uint8_t> pkt, Segment* out, bool verify_checksums) {
  if (pkt.size() < kIp6HeaderLen) return Fail(DropReason::kTooShort);
  const uint8_t* ip = pkt.data();
  size_t payload = Load16(ip + 4);
  if (payload > pkt.size() - kIp6HeaderLen) return Fail(DropReason::kBadTotalLen);
  uint8_t next = ip[6];
  if (next == 44) return Fail(DropReason::kFragment);
  if (IsExtensionHeader(next)) return Fail(DropReason::kExtensionHeader);
  if (next != 6) return Fail(DropReason::kNotTcp);
  if (payload < kTcpHeaderLen) return Fail(DropReason::kBadTcpHeaderLen);
  out->v6 = true;
  out->src_ip6 = Ip6FromBytes(ip + 8);
  out->dst_ip6 = Ip6FromBytes(ip + 24);
  out->src_ip = out->src_ip6.Low32();
  out->dst_ip = out->dst_ip6.Low32();
  out->ttl = ip[7];
  uint32_t sum = PseudoHeaderSum6(ip + 8, ip + 24, 6, uint32_t(payload));
  return ParseTcp(ip + kIp6HeaderLen, payload, sum, verify_checksums, out);
}

// The IP header of `s` for a TCP segment of `tcp_len` bytes; returns its
// length. The TCP checksum is added by the caller from the pseudo-header sum.
size_t WriteIpHeader(const SegmentSpec& s, size_t tcp_len, uint8_t* ip, uint32_t* pseudo_sum) {
  if (s.v6) {
    Store32(ip, 0x60000000u);  // version 6, traffic class 0, flow label 0
    Store16(ip + 4, uint16_t(tcp_len));
    ip[6] = 6;
    ip[7] = 64;
    Ip6ToBytes(s.src_ip6, ip + 8);
    Ip6ToBytes(s.dst_ip6, ip + 24);
    *pseudo_sum = PseudoHeaderSum6(ip + 8, ip + 24, 6, uint32_t(tcp_len));
    return kIp6HeaderLen;
  }
  ip[0] = 0x45;
  ip[1] = 0;
  Store16(ip + 2, uint16_t(kIpHeaderLen + tcp_len));
  Store16(ip + 4, 0);
  Store16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 6;
  Store16(ip + 10, 0);
  Store32(ip + 12, s.src_ip);
  Store32(ip + 16, s.dst_ip);
  Store16(ip + 10, Checksum({ip, kIpHeaderLen}));
  *pseudo_sum = PseudoHeaderSum(s.src_ip, s.dst_ip, 6, uint16_t(tcp_len));
  return kIpHeaderLen;
}

}  // namespace

ParseResult ParseSegment(std::span<const uint8_t> pkt, Segment* out, bool verify_checksums) {
  if (pkt.empty()) return Fail(DropReason::kTooShort);
  uint8_t version = pkt[0] >> 4;
  if (version == 4) return ParseSegment4(pkt, out, verify_checksums);
  if (version == 6) return ParseSegment6(pkt, out, verify_checksums);
  return Fail(DropReason::kBadVersion);
}

size_t BuildSegment(const SegmentSpec& s, std::span<uint8_t> buf) {
  uint8_t opts[kMaxOptionsLen];
  size_t opt_len = WriteOptions(s, opts);
  size_t tcp_len = kTcpHeaderLen + opt_len + s.payload.size();
  size_t total = (s.v6 ? kIp6HeaderLen : kIpHeaderLen) + tcp_len;
  if (total > buf.size() || tcp_len > 0xffff || (!s.v6 && total > 0xffff)) return 0;
  uint32_t sum = 0;
  uint8_t* tcp = buf.data() + WriteIpHeader(s, tcp_len, buf.data(), &sum);
  Store16(tcp, s.src_port);
  Store16(tcp + 2, s.dst_port);
  Store32(tcp + 4, s.seq);
  Store32(tcp + 8, s.ack);
  tcp[12] = uint8_t(((kTcpHeaderLen + opt_len) / 4) << 4);
  tcp[13] = s.flags;
  Store16(tcp + 14, s.window);
  Store16(tcp + 16, 0);
  Store16(tcp + 18, 0);
  std::memcpy(tcp + kTcpHeaderLen, opts, opt_len);
  if (!s.payload.empty()) std::memcpy(tcp + kTcpHeaderLen + opt_len, s.payload.data(), s.payload.size());
  Store16(tcp + 16, ChecksumFinish(ChecksumAdd(sum, {tcp, tcp_len})));
  return total;
}

}  // namespace tcpmax::userland::wire

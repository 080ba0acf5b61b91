#include "userland/wire/resegment.h"

#include <algorithm>
#include <cstring>

#include "userland/wire/checksum.h"
#include "userland/wire/bytes.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::wire {
namespace {

// IP header checksum (IPv4) and TCP checksum of a packet laid out as `l`.
void FillChecksums(uint8_t* p, const TcpLayout& l) {
  uint8_t* tcp = p + l.ip_len;
  size_t tcp_bytes = l.tcp_len + l.payload_len;
  uint32_t sum = 0;
  if (l.v6) {
    sum = PseudoHeaderSum6(p + 8, p + 24, 6, uint32_t(tcp_bytes));
  } else {
    Store16(p + 10, 0);
    Store16(p + 10, Checksum({p, l.ip_len}));
    sum = PseudoHeaderSum(Load32(p + 12), Load32(p + 16), 6, uint16_t(tcp_bytes));
  }
  Store16(tcp + 16, 0);
  Store16(tcp + 16, ChecksumFinish(ChecksumAdd(sum, {tcp, tcp_bytes})));
}

std::optional<TcpLayout> LayoutOfTcp6(std::span<const uint8_t> packet) {
  const uint8_t* p = packet.data();
  if (packet.size() < kIp6HeaderLen + kTcpHeaderLen || p[6] != 6) return std::nullopt;
  size_t payload = Load16(p + 4);
  if (payload < kTcpHeaderLen || kIp6HeaderLen + payload > packet.size()) return std::nullopt;
  size_t tcp_len = size_t(p[kIp6HeaderLen + 12] >> 4) * 4;
  if (tcp_len < kTcpHeaderLen || tcp_len > payload) return std::nullopt;
  return TcpLayout{true, kIp6HeaderLen, tcp_len, payload - tcp_len};
}

}  // namespace

std::optional<TcpLayout> LayoutOfTcp(std::span<const uint8_t> packet) {
  const uint8_t* p = packet.data();
  if (!packet.empty() && (p[0] >> 4) == 6) return LayoutOfTcp6(packet);
  if (packet.size() < kIpHeaderLen || (p[0] >> 4) != 4 || p[9] != 6) return std::nullopt;
  size_t ip_len = size_t(p[0] & 0xf) * 4;
  size_t total = Load16(p + 2);
  if ((Load16(p + 6) & 0x3fff) != 0) return std::nullopt;  // a fragment
  if (ip_len < kIpHeaderLen || total > packet.size() || total < ip_len + kTcpHeaderLen) return std::nullopt;
  size_t tcp_len = size_t(p[ip_len + 12] >> 4) * 4;
  if (tcp_len < kTcpHeaderLen || ip_len + tcp_len > total) return std::nullopt;
  return TcpLayout{false, ip_len, tcp_len, total - ip_len - tcp_len};
}

bool CompleteTcpChecksum(std::span<uint8_t> packet) {
  auto l = LayoutOfTcp(packet);
  if (!l) return false;
  FillChecksums(packet.data(), *l);
  return true;
}

size_t SegmentsNeeded(std::span<const uint8_t> packet, size_t max_len) {
  auto l = LayoutOfTcp(packet);
  if (!l) return 0;
  size_t headers = l->ip_len + l->tcp_len;
  if (headers + l->payload_len <= max_len) return 1;
  if (max_len <= headers) return 0;
  size_t per = max_len - headers;
  return (l->payload_len + per - 1) / per;
}

size_t BuildSegmentPiece(std::span<const uint8_t> packet, size_t max_len, size_t index, std::span<uint8_t> out) {
  size_t n = SegmentsNeeded(packet, max_len);
  if (index >= n) return 0;
  TcpLayout l = *LayoutOfTcp(packet);
  size_t headers = l.ip_len + l.tcp_len;
  size_t per = n == 1 ? l.payload_len : max_len - headers;
  size_t offset = index * per;
  size_t len = std::min(per, l.payload_len - offset);
  if (out.size() < headers + len) return 0;
  uint8_t* q = out.data();
  std::memcpy(q, packet.data(), headers);
  std::memcpy(q + headers, packet.data() + headers + offset, len);
  if (l.v6) {
    Store16(q + 4, uint16_t(l.tcp_len + len));  // payload length
  } else {
    Store16(q + 2, uint16_t(headers + len));
    Store16(q + 4, uint16_t(Load16(packet.data() + 4) + index));  // IP ID: as GSO numbers them
  }
  uint8_t* tcp = q + l.ip_len;
  Store32(tcp + 4, Load32(tcp + 4) + uint32_t(offset));
  if (index + 1 < n) tcp[13] &= uint8_t(~(kFin | kPsh));  // FIN and PSH belong to the last piece
  if (index > 0) tcp[13] &= uint8_t(~kCwr);                // CWR to the first (RFC 3168 6.1.2)
  TcpLayout piece{l.v6, l.ip_len, l.tcp_len, len};
  FillChecksums(q, piece);
  return headers + len;
}

}  // namespace tcpmax::userland::wire

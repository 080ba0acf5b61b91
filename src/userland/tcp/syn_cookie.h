// SYN cookies (RFC 4987 section 3.6), in the Linux scheme
// (net/ipv4/syncookies.c): the server's ISN encodes a keyed hash of the
// 4-tuple, a 64-second time counter and the index of the peer's MSS, so the
// server keeps no state for a connection until the final ACK of the
// handshake comes back carrying ISN+1.
//
//   cookie = H0(tuple) + peer_isn + (count << 24)
//          + ((H1(tuple, count) + mss_index) & 0xffffff)
//
// H0 and H1 are SipHash-2-4 under two independent keys, over the whole
// tuple: for IPv6 both 128-bit addresses (net/ipv6/syncookies.c), with the
// IPv6 MSS table. A cookie is valid for kMaxAge counter periods (Linux:
// MAX_SYNCOOKIE_AGE = 2).
// Thread-safety: const methods are safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "userland/tcp/siphash.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::tcp {

struct FourTuple {
  uint32_t src_ip = 0;    // the peer that sent the SYN (host order); IPv4
  uint32_t dst_ip = 0;    // our address; IPv4
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  bool v6 = false;
  wire::Ip6 src_ip6, dst_ip6;  // IPv6 (when v6)

  // The tuple a segment arrived on.
  static FourTuple Of(const wire::Segment& seg) {
    return FourTuple{seg.src_ip, seg.dst_ip, seg.src_port, seg.dst_port, seg.v6, seg.src_ip6, seg.dst_ip6};
  }
};

class SynCookies {
 public:
  static constexpr uint64_t kPeriodNs = 64ull * 1'000'000'000ull;  // Linux: 60 HZ-seconds
  static constexpr uint32_t kMaxAge = 2;
  // The MSS values a cookie can carry (Linux msstab for IPv4, msstab6 for IPv6).
  static constexpr std::array<uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};
  static constexpr std::array<uint16_t, 4> kMssTable6 = {1220, 1420, 1440, 8940};
  static const std::array<uint16_t, 4>& MssTable(bool v6) { return v6 ? kMssTable6 : kMssTable; }

  SynCookies(SipKey k0, SipKey k1) : k0_(k0), k1_(k1) {}

  // The index of the largest table MSS not above `peer_mss` (0 when absent
  // or smaller than all: 536, or 1220 for IPv6).
  static uint32_t MssIndex(uint16_t peer_mss, bool v6 = false);

  // Our ISN for a SYN from `t` with sequence `peer_isn`, at time `now_ns`.
  uint32_t Make(const FourTuple& t, uint32_t peer_isn, uint32_t mss_index, uint64_t now_ns) const;

  // Checks the cookie carried by a final ACK (cookie = SEG.ACK - 1, and
  // peer_isn = SEG.SEQ - 1). Returns the MSS index, or nullopt when the cookie
  // is forged, for another tuple, or older than kMaxAge periods.
  std::optional<uint32_t> Check(const FourTuple& t, uint32_t peer_isn, uint32_t cookie, uint64_t now_ns) const;

 private:
  uint32_t Hash(const SipKey& k, const FourTuple& t, uint32_t count) const;

  SipKey k0_, k1_;
};

}  // namespace tcpmax::userland::tcp

// SYN cookies (RFC 4987 section 3.6), in the Linux scheme
// (net/ipv4/syncookies.c): the server's ISN encodes a keyed hash of the
// 4-tuple, a 64-second time counter and the index of the peer's MSS, so the
// server keeps no state for a connection until the final ACK of the
// handshake comes back carrying ISN+1.
//
//   cookie = H0(tuple) + peer_isn + (count << 24)
//          + ((H1(tuple, count) + mss_index) & 0xffffff)
//
// H0 and H1 are SipHash-2-4 under two independent keys. A cookie is valid
// for kMaxAge counter periods (Linux: MAX_SYNCOOKIE_AGE = 2).
// Thread-safety: const methods are safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "userland/tcp/siphash.h"

namespace tcpmax::userland::tcp {

struct FourTuple {
  uint32_t src_ip = 0;    // the peer that sent the SYN (host order)
  uint32_t dst_ip = 0;    // our address
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

class SynCookies {
 public:
  static constexpr uint64_t kPeriodNs = 64ull * 1'000'000'000ull;  // Linux: 60 HZ-seconds
  static constexpr uint32_t kMaxAge = 2;
  // The MSS values a cookie can carry (Linux msstab for IPv4).
  static constexpr std::array<uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};

  SynCookies(SipKey k0, SipKey k1) : k0_(k0), k1_(k1) {}

  // The index of the largest table MSS not above `peer_mss` (0 when absent: 536).
  static uint32_t MssIndex(uint16_t peer_mss);

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

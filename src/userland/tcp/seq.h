// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 3.4).
// Never compare .raw directly. Pure values; thread-safe.
#pragma once

#include <cstdint>

namespace tcpmax::userland::tcp {

struct Seq {
  uint32_t raw = 0;

  constexpr Seq() = default;
  constexpr explicit Seq(uint32_t v) : raw(v) {}

  friend constexpr Seq operator+(Seq a, uint32_t n) { return Seq(a.raw + n); }
  friend constexpr Seq operator-(Seq a, uint32_t n) { return Seq(a.raw - n); }
  // The signed distance a - b, valid when |a - b| < 2^31.
  friend constexpr int32_t operator-(Seq a, Seq b) { return int32_t(a.raw - b.raw); }
  friend constexpr bool operator==(Seq a, Seq b) { return a.raw == b.raw; }
  friend constexpr bool operator<(Seq a, Seq b) { return int32_t(a.raw - b.raw) < 0; }
  friend constexpr bool operator<=(Seq a, Seq b) { return int32_t(a.raw - b.raw) <= 0; }
  friend constexpr bool operator>(Seq a, Seq b) { return b < a; }
  friend constexpr bool operator>=(Seq a, Seq b) { return b <= a; }
};

// lo <= s < hi, modulo 2^32 (RFC 9293 3.4: "=<" and "<" of the acceptability tests).
constexpr bool InWindow(Seq s, Seq lo, Seq hi) { return lo <= s && s < hi; }

}  // namespace tcpmax::userland::tcp

// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit PRF, used for
// SYN cookies and for the client's per-tuple initial sequence numbers (the
// keyed-hash ISN of RFC 6528 section 3). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tcpmax::userland::tcp {

struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// SipHash-2-4 of an arbitrary byte string (the reference definition).
uint64_t SipHash24(const SipKey& key, std::span<const uint8_t> data);

// SipHash-2-4 of exactly two 64-bit words (16 bytes, little-endian), the hot
// path form: a 4-tuple packs into the first word, extra inputs into the second.
uint64_t SipHash24Words(const SipKey& key, uint64_t m0, uint64_t m1);
// The same for any number of words (8 * words.size() bytes, little-endian):
// an IPv6 tuple takes five.
uint64_t SipHash24Words(const SipKey& key, std::span<const uint64_t> words);

// A key from the kernel's random source (getrandom).
SipKey RandomSipKey();

}  // namespace tcpmax::userland::tcp

// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sums are kept as 32-bit one's-complement accumulators and folded to 16 bits
// at the end, so a caller can add the TCP pseudo-header, the header and the
// payload in pieces. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tcpmax::userland::wire {

// Adds `data` (big-endian 16-bit words; an odd last byte is padded with zero)
// to the running sum `sum`. RFC 1071 section 4.1.
uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> data);
// Folds the carries and returns the one's-complement of the sum (the value
// that goes in the header field, in host order).
uint16_t ChecksumFinish(uint32_t sum);
// The full checksum of `data`, e.g. an IPv4 header with its checksum field zero.
inline uint16_t Checksum(std::span<const uint8_t> data) { return ChecksumFinish(ChecksumAdd(0, data)); }

// The TCP/UDP pseudo-header sum for IPv4 (RFC 9293 3.1): source, destination,
// zero, protocol, TCP length. Addresses in host order.
uint32_t PseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t protocol, uint16_t length);
// The IPv6 pseudo-header sum (RFC 8200 8.1): source and destination (16 bytes
// each, network order), the 32-bit upper-layer length, three zero bytes and
// the next header.
uint32_t PseudoHeaderSum6(const uint8_t* src, const uint8_t* dst, uint8_t next_header, uint32_t length);

// RFC 1624 eqn. 3: the new checksum HC' = ~(~HC + ~m + m') after one 16-bit
// word of the covered data changed from `old_word` to `new_word`.
uint16_t ChecksumUpdate16(uint16_t checksum, uint16_t old_word, uint16_t new_word);
// The same for a 32-bit field (two words), e.g. a sequence number.
uint16_t ChecksumUpdate32(uint16_t checksum, uint32_t old_value, uint32_t new_value);

}  // namespace tcpmax::userland::wire

// Resegment: IPv4/TCP and IPv6/TCP packets that a packet socket hands over unfinished,
// made into what the engines parse.
//   - A checksum left partial (CHECKSUM_PARTIAL: the sender's stack left the
//     TCP checksum to a NIC that a veth or loopback never had) is completed.
//   - A packet merged by GRO on receive, or sent as one GSO packet over a
//     veth, carries many MSS-sized segments under one header; it is cut back
//     into segments of at most `max_len` bytes (each with its own sequence
//     number, IP ID (IPv4) and checksums; FIN and PSH only on the last), as
//     the sender's segmentation offload would have done.
// IPv6: the fixed 40-byte header with TCP as its next header (no extension
// headers, as wire/segment.h).
// Pure functions on caller buffers; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace tcpmax::userland::wire {

// Where the parts of an IP/TCP packet are. nullopt when the packet is not
// an unfragmented IPv4, or extension-free IPv6, TCP packet whose headers fit.
struct TcpLayout {
  bool v6 = false;
  size_t ip_len = 0;       // IP header bytes (IPv6: 40)
  size_t tcp_len = 0;      // TCP header bytes
  size_t payload_len = 0;  // by the IP total (IPv6: payload) length
};
std::optional<TcpLayout> LayoutOfTcp(std::span<const uint8_t> packet);

// Writes the full TCP checksum into `packet`. False when it is not IP/TCP.
bool CompleteTcpChecksum(std::span<uint8_t> packet);

// How many segments of at most `max_len` bytes `packet` becomes (1 when it
// fits; 0 when it cannot be cut: not IP/TCP, or headers leave no room).
size_t SegmentsNeeded(std::span<const uint8_t> packet, size_t max_len);

// Writes segment `index` (of SegmentsNeeded) of `packet` into `out` and
// returns its length; 0 when `out` is too small or the index is out of range.
size_t BuildSegmentPiece(std::span<const uint8_t> packet, size_t max_len, size_t index, std::span<uint8_t> out);

}  // namespace tcpmax::userland::wire

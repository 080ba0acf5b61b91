// PeerPrefixes: the /96 prefixes of an IPv6 server's peers, each given a
// 16-bit index, so a connection slot keeps the peer's low 32 bits and that
// index instead of 16 bytes of address (conn_table.h). A load generator's
// source range, or a LAN's /64, is one prefix per 2^32 hosts; each kernel
// client on another network is one more.
//
// Indexes are never reused: the set only grows, up to kMaxPrefixes over the
// engine's life; past that, Intern() fails and the server resets the final
// ACK of a peer from a new prefix (counted as table_full), as it does when
// the table is full. Memory: 512 KiB of index plus 16 B per prefix, made only
// for an IPv6 engine.
// Thread-safety: none; one engine thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "userland/wire/segment.h"

namespace tcpmax::userland::tcp {

class PeerPrefixes {
 public:
  static constexpr uint32_t kMaxPrefixes = 65536;

  explicit PeerPrefixes(uint64_t seed);

  // The index of `prefix` (a wire::Ip6 with the low 32 bits zero), if known.
  std::optional<uint16_t> Find(const wire::Ip6& prefix) const;
  // The index of `prefix`, adding it when new; nullopt when the set is full.
  std::optional<uint16_t> Intern(const wire::Ip6& prefix);
  // The prefix of index `i` (REQUIRES i < size()).
  const wire::Ip6& At(uint16_t i) const { return prefixes_[i]; }
  uint32_t size() const { return uint32_t(prefixes_.size()); }

 private:
  static constexpr uint32_t kSlots = 2 * kMaxPrefixes;  // load at most 1/2
  uint32_t Home(const wire::Ip6& p) const;

  uint64_t seed_;
  std::vector<uint32_t> slots_;  // index + 1; 0: empty
  std::vector<wire::Ip6> prefixes_;
};

}  // namespace tcpmax::userland::tcp

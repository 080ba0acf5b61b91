#include "userland/tcp/peer_prefixes.h"

#include "userland/tcp/conn_table.h"

namespace tcpmax::userland::tcp {

PeerPrefixes::PeerPrefixes(uint64_t seed) : seed_(seed | 1), slots_(kSlots, 0) {}

uint32_t PeerPrefixes::Home(const wire::Ip6& p) const {
  // Mix64 over the keyed prefix (its low 32 bits are zero).
  return uint32_t(Mix64((p.hi ^ seed_) + (p.lo >> 32) * 0x9e3779b97f4a7c15ull)) & (kSlots - 1);
}

std::optional<uint16_t> PeerPrefixes::Find(const wire::Ip6& prefix) const {
  for (uint32_t i = Home(prefix);; i = (i + 1) & (kSlots - 1)) {
    uint32_t s = slots_[i];
    if (s == 0) return std::nullopt;
    if (prefixes_[s - 1] == prefix) return uint16_t(s - 1);
  }
}

std::optional<uint16_t> PeerPrefixes::Intern(const wire::Ip6& prefix) {
  uint32_t i = Home(prefix);
  for (;; i = (i + 1) & (kSlots - 1)) {
    uint32_t s = slots_[i];
    if (s == 0) break;
    if (prefixes_[s - 1] == prefix) return uint16_t(s - 1);
  }
  if (prefixes_.size() >= kMaxPrefixes) return std::nullopt;
  prefixes_.push_back(prefix);
  slots_[i] = uint32_t(prefixes_.size());
  return uint16_t(prefixes_.size() - 1);
}

}  // namespace tcpmax::userland::tcp

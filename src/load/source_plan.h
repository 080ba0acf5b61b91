// SourcePlan: which (source address, target endpoint) pair the i-th
// connection uses.
//
// The kernel keys a connection by its 4-tuple, so one (source address,
// target) pair holds at most the ephemeral port range (~28,000 by default)
// and here connect() slows sharply past ~14,000 per pair. The plan spreads
// connection i round-robin over targets first, then sources, using as many
// source addresses as are useful (at most one connection per pair when the
// ranges are large), so pairs stay evenly and thinly loaded. Source ranges
// are never expanded into lists: address k is computed on demand.
//
// Default sources (DefaultSources): for a loopback target 127.0.0.0/16
// (IPv4, skipping 127.0.0.0) or ::1 (IPv6); otherwise every address of the
// interface that routes to the target (found with a UDP connect +
// getsockname, then getifaddrs).
// Thread-safety: immutable after construction; share freely.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <vector>

#include "core/address.h"
#include "core/error.h"

namespace tcpmax::load {

// A contiguous slice of the usable source addresses (in the order the
// ranges list them, edges skipped): what one rank of a distributed run may
// use (dist/partition.h). The default is every address.
struct SourceWindow {
  uint64_t first = 0;
  uint64_t count = UINT64_MAX;
};

class SourcePlan {
 public:
  // REQUIRES: targets non-empty; every source has the family of the targets.
  // Uses min(source addresses in `window`, ceil(connections / targets))
  // sources; a window past the last address is an error.
  static Result<SourcePlan> Make(std::vector<Cidr> sources, std::vector<Endpoint> targets,
                                 uint64_t connections, SourceWindow window = {});
  // Usable addresses of `sources` (IPv4 ranges of /30 or wider lose their
  // network and broadcast addresses).
  static uint64_t UsableCount(const std::vector<Cidr>& sources);

  uint64_t source_count() const { return source_count_; }
  size_t target_count() const { return targets_.size(); }
  uint64_t pair_count() const { return source_count_ * targets_.size(); }
  // The most connections any pair carries: ceil(connections / pairs).
  uint64_t max_per_pair() const { return max_per_pair_; }
  int family() const { return targets_[0].ip.family; }

  // Source address and target of connection i.
  IpAddress SourceOf(uint64_t i) const;
  const Endpoint& TargetOf(uint64_t i) const { return targets_[i % targets_.size()]; }
  // The target's sockaddr, stable for the plan's lifetime (io_uring reads it
  // at submit time).
  const sockaddr* TargetAddr(uint64_t i, socklen_t* len) const;
  const std::vector<Endpoint>& targets() const { return targets_; }

  // Explicit source ports: connection i binds (SourceOf(i), PortOf(i)) with
  // SO_REUSEADDR instead of letting connect() search for a port. The k-th
  // connection of every pair gets port lo + k (mod span), so one (source,
  // port) serves every target: one bind bucket per such pair shared by
  // target_count() sockets, and no port search at all. Only where nothing
  // else binds those ports (the probe's own namespace).
  void UseExplicitPorts(uint16_t lo, uint32_t span) {
    port_lo_ = lo;
    port_span_ = span;
  }
  // 0: the kernel picks (IP_BIND_ADDRESS_NO_PORT).
  uint16_t PortOf(uint64_t i) const {
    if (port_span_ == 0) return 0;
    return static_cast<uint16_t>(port_lo_ + (i / (targets_.size() * source_count_)) % port_span_);
  }
  const std::vector<Cidr>& sources() const { return sources_; }

 private:
  std::vector<Cidr> sources_;
  std::vector<uint64_t> skip_;  // addresses skipped at the start of each range
  std::vector<Endpoint> targets_;
  std::vector<sockaddr_storage> target_addrs_;
  std::vector<socklen_t> target_lens_;
  uint64_t source_count_ = 0;
  uint64_t source_first_ = 0;  // the window's first address
  uint64_t max_per_pair_ = 0;
  uint16_t port_lo_ = 0;
  uint32_t port_span_ = 0;
};

// The default source ranges for `target` (see above).
Result<std::vector<Cidr>> DefaultSources(const Endpoint& target);

}  // namespace tcpmax::load

// Filter: the user-space form of a Query's filters, applied to every socket
// a source reports. For netlink the kernel has already applied the same
// filter as bytecode (see bytecode.h), so this is a cheap second check that
// also makes replayed dumps and /proc honour the query.
// Immutable after construction; thread-safe to share.
#pragma once

#include "diag/query.h"
#include "diag/sock_view.h"

namespace tcpmax::diag {

// Drops port lists that cover 1-65535 (they match every socket).
std::vector<PortRange> NormalizePorts(std::vector<PortRange> ranges);

class Filter {
 public:
  explicit Filter(const Query& q);

  bool Matches(const SockView& s) const {
    if (!(states_ & (1u << s.state))) return false;
    if (s.family == AF_INET ? !ipv4_ : !ipv6_) return false;
    if (!lports_.empty() && !InPorts(lports_, s.sport)) return false;
    if (!rports_.empty() && !InPorts(rports_, s.dport)) return false;
    if (!src_.empty() && !InCidrs(src_, s.family, s.saddr)) return false;
    if (!dst_.empty() && !InCidrs(dst_, s.family, s.daddr)) return false;
    return true;
  }

  // The kernel's rule for one CIDR (inet_diag hostcond), exposed for tests.
  static bool CidrMatches(const Cidr& c, uint8_t family, const uint8_t* addr);

 private:
  static bool InPorts(const std::vector<PortRange>& r, uint16_t port) {
    for (const PortRange& p : r)
      if (p.Contains(port)) return true;
    return false;
  }
  static bool InCidrs(const std::vector<Cidr>& cidrs, uint8_t family, const uint8_t* addr) {
    for (const Cidr& c : cidrs)
      if (CidrMatches(c, family, addr)) return true;
    return false;
  }

  uint32_t states_;
  bool ipv4_, ipv6_;
  std::vector<PortRange> lports_, rports_;
  std::vector<Cidr> src_, dst_;
};

}  // namespace tcpmax::diag

#include "diag/filter.h"

#include <algorithm>
#include <cstring>

namespace tcpmax::diag {
namespace {

// True when the first `bits` bits of a and b agree.
bool PrefixEqual(const uint8_t* a, const uint8_t* b, int bits) {
  int bytes = bits / 8;
  if (std::memcmp(a, b, bytes) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::vector<PortRange> NormalizePorts(std::vector<PortRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const PortRange& a, const PortRange& b) { return a.lo < b.lo; });
  uint32_t covered_to = 0;  // every port in 1..covered_to is in some range
  for (const PortRange& r : ranges) {
    if (r.lo > covered_to + 1) break;
    covered_to = std::max<uint32_t>(covered_to, r.hi);
  }
  if (covered_to >= 65535) return {};
  return ranges;
}

Filter::Filter(const Query& q)
    : states_(q.states & kAllStates),
      ipv4_(q.ipv4),
      ipv6_(q.ipv6),
      lports_(NormalizePorts(q.lports)),
      rports_(NormalizePorts(q.rports)),
      src_(q.src),
      dst_(q.dst) {
  // The kernel reports request sockets as syn-recv.
  if (states_ & StateBit(kSynRecv)) states_ |= StateBit(kNewSynRecv);
}

bool Filter::CidrMatches(const Cidr& c, uint8_t family, const uint8_t* addr) {
  if (c.base.family == family) return PrefixEqual(addr, c.base.bytes.data(), c.prefix);
  if (family == AF_INET6 && c.base.family == AF_INET) {
    return std::memcmp(addr, kV4MappedPrefix, 12) == 0 && PrefixEqual(addr + 12, c.base.bytes.data(), c.prefix);
  }
  return false;
}

}  // namespace tcpmax::diag

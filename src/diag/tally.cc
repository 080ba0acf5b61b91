#include "diag/tally.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace tcpmax::diag {

Tally::Tally(const Query& q) : filter_(q), by_(q.by), top_(q.top) {
  counts_.by = q.by;
  if (by_ == AggregateBy::kLocalPort || by_ == AggregateBy::kRemotePort) by_port_.assign(65536, 0);
}

size_t Tally::AddrHash::operator()(const AddrKey& k) const {
  return std::hash<std::string_view>()(
             std::string_view(reinterpret_cast<const char*>(k.bytes.data()), k.bytes.size())) ^
         k.family;
}

void Tally::Aggregate(const SockView& s, int state) {
  switch (by_) {
    case AggregateBy::kLocalPort: ++by_port_[s.sport]; break;
    case AggregateBy::kRemotePort: ++by_port_[s.dport]; break;
    case AggregateBy::kLocalAddr:
    case AggregateBy::kRemoteAddr: {
      AddrKey key{s.family, {}};
      const uint8_t* a = by_ == AggregateBy::kLocalAddr ? s.saddr : s.daddr;
      std::memcpy(key.bytes.data(), a, s.family == AF_INET ? 4 : 16);
      ++by_addr_[key];
      break;
    }
    case AggregateBy::kState:
    case AggregateBy::kNone: (void)state; break;
  }
}

Counts Tally::Finish() {
  std::vector<Group>& g = counts_.groups;
  switch (by_) {
    case AggregateBy::kLocalPort:
    case AggregateBy::kRemotePort:
      for (size_t p = 0; p < by_port_.size(); ++p)
        if (by_port_[p] > 0) g.push_back({GroupKey{static_cast<uint16_t>(p), {}, 0}, by_port_[p]});
      break;
    case AggregateBy::kLocalAddr:
    case AggregateBy::kRemoteAddr:
      for (const auto& [k, n] : by_addr_) {
        GroupKey key;
        key.ip.family = k.family;
        key.ip.bytes = k.bytes;
        g.push_back({key, n});
      }
      break;
    case AggregateBy::kState:
      for (int s = 1; s <= kMaxTcpState; ++s)
        if (counts_.states[s] > 0) g.push_back({GroupKey{0, {}, static_cast<uint8_t>(s)}, counts_.states[s]});
      break;
    case AggregateBy::kNone: break;
  }
  auto key_less = [](const GroupKey& a, const GroupKey& b) {
    if (a.port != b.port) return a.port < b.port;
    if (a.state != b.state) return a.state < b.state;
    if (a.ip.family != b.ip.family) return a.ip.family < b.ip.family;
    return a.ip.bytes < b.ip.bytes;
  };
  std::sort(g.begin(), g.end(), [&](const Group& a, const Group& b) {
    return a.count != b.count ? a.count > b.count : key_less(a.key, b.key);
  });
  counts_.distinct_groups = g.size();
  if (top_ > 0 && g.size() > top_) g.resize(top_);
  return std::move(counts_);
}

}  // namespace tcpmax::diag

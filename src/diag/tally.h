// Tally: adds up the sockets a source reports, after the user-space Filter,
// into Counts: totals by state and family, and the Query's aggregation.
// No allocation per socket: port aggregation uses a 65536-slot table made
// once; address aggregation allocates once per distinct address.
// Not thread-safe; one Tally per dump.
#pragma once

#include <unordered_map>
#include <vector>

#include "diag/filter.h"
#include "diag/query.h"
#include "diag/sock_view.h"

namespace tcpmax::diag {

class Tally final : public SockSink {
 public:
  explicit Tally(const Query& q);

  // Counts `s` when it matches the query.
  void Add(const SockView& s) override {
    if (!filter_.Matches(s)) return;
    int state = s.state == kNewSynRecv ? int{kSynRecv} : int{s.state};
    ++counts_.states[state];
    ++counts_.total;
    ++(s.family == AF_INET ? counts_.ipv4 : counts_.ipv6);
    if (by_ != AggregateBy::kNone) Aggregate(s, state);
  }

  uint64_t total() const { return counts_.total; }

  // Sorts and cuts the groups; the Tally is spent afterwards.
  Counts Finish();

 private:
  struct AddrKey {
    uint8_t family;
    std::array<uint8_t, 16> bytes;
    friend bool operator==(const AddrKey&, const AddrKey&) = default;
  };
  struct AddrHash {
    size_t operator()(const AddrKey& k) const;
  };

  void Aggregate(const SockView& s, int state);

  Filter filter_;
  AggregateBy by_;
  size_t top_;
  Counts counts_;
  std::vector<uint64_t> by_port_;  // 65536 slots, only for port aggregation
  std::unordered_map<AddrKey, uint64_t, AddrHash> by_addr_;
};

}  // namespace tcpmax::diag

// What the probe's supervisors (own engines, or a user's server) learn from
// their shard sets: one side's figures summed, and the first failure said in
// one sentence, and the sampling schedule they share.
// Thread-safety: pure functions over a ShardSet the caller owns.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "limits/errno_class.h"
#include "probe/climb.h"
#include "sys/shard.h"

namespace tcpmax::probe {

// The shards' own figures, summed over one side.
struct SideTotals {
  uint64_t held = 0, opened = 0, attempted = 0, failed = 0, inflight = 0;
  uint64_t closed = 0;         // established connections that ended since (load: closed by the peer)
  uint64_t anon_growth = 0;    // anonymous memory the shards grew since their start
  size_t reporting = 0;        // shards that reported at all
  size_t opening_stopped = 0;  // shards that obeyed kStopOpening
  bool attempts_done = true;   // every shard answered all its attempts
  limits::ErrorCounts errors;
};

// The latest progress (or ready) report of every shard, summed.
SideTotals Sum(const sys::ShardSet& set);
// The first shard that failed or exited, said in one sentence; "" when none.
std::string ShardFailure(const sys::ShardSet& set, std::string_view side);

// The climbs' sampling schedule: calls `sample(start)` every `interval_ns`
// on a fixed schedule (a late sample does not shift the next one), and
// `poll(timeout_ms)` in between, until `sample` returns a decision. Sets
// `*seconds` to the time it ran.
StopDecision SampleOnSchedule(uint64_t interval_ns, const std::atomic<bool>& stop,
                              const std::function<void(int)>& poll,
                              const std::function<std::optional<StopDecision>(uint64_t)>& sample, double* seconds);

}  // namespace tcpmax::probe

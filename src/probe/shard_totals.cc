#include "probe/shard_totals.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/clock.h"

namespace tcpmax::probe {

SideTotals Sum(const sys::ShardSet& set) {
  SideTotals t;
  for (int i = 0; i < set.size(); ++i) {
    const sys::ShardReport* r = set.Latest(i, sys::ShardKind::kProgress);
    if (r == nullptr) r = set.Latest(i, sys::ShardKind::kReady);
    if (r == nullptr) {
      t.attempts_done = false;
      continue;
    }
    ++t.reporting;
    t.held += r->held;
    t.opened += r->opened;
    t.attempted += r->attempted;
    t.failed += r->failed;
    t.inflight += r->inflight;
    t.closed += r->closed;
    t.anon_growth += r->anon_bytes > r->anon_start_bytes ? r->anon_bytes - r->anon_start_bytes : 0;
    t.opening_stopped += r->opening_stopped;
    t.attempts_done = t.attempts_done && r->target > 0 && r->attempted == r->target && r->inflight == 0;
    for (const auto& [code, n] : r->errors) t.errors.Add(code, n);
  }
  return t;
}

std::string ShardFailure(const sys::ShardSet& set, std::string_view side) {
  for (int i = 0; i < set.size(); ++i) {
    if (const sys::ShardReport* f = set.Latest(i, sys::ShardKind::kFailed)) {
      return fmt::format("{}[{}] failed: {}", side, i, f->error);
    }
    if (set.closed(i) && set.Latest(i, sys::ShardKind::kFinal) == nullptr) {
      return fmt::format("{}[{}] (pid {}) exited unexpectedly", side, i, set.pid(i));
    }
  }
  return "";
}

StopDecision SampleOnSchedule(uint64_t interval_ns, const std::atomic<bool>& stop,
                              const std::function<void(int)>& poll,
                              const std::function<std::optional<StopDecision>(uint64_t)>& sample, double* seconds) {
  uint64_t start = MonotonicNanos();
  uint64_t next = start + interval_ns;
  for (;;) {
    uint64_t now = MonotonicNanos();
    if (now < next && !stop.load()) {
      poll(static_cast<int>(std::min<uint64_t>((next - now) / 1'000'000 + 1, 50)));
      continue;
    }
    // On time whatever the shards do: the next sample is due one interval
    // after this one was, and a late one does not shift the schedule.
    next += interval_ns * ((MonotonicNanos() - next) / interval_ns + 1);
    if (auto d = sample(start)) {
      *seconds = SecondsSince(start);
      return *d;
    }
  }
}

}  // namespace tcpmax::probe

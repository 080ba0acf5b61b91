#include "probe/climb.h"

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::probe {

std::string_view StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kTarget: return "target reached";
    case StopReason::kMemoryReserve: return "memory reserve";
    case StopReason::kLimit: return "limit";
    case StopReason::kStalled: return "stalled";
    case StopReason::kTimeout: return "timeout";
    case StopReason::kInterrupted: return "interrupted";
    case StopReason::kError: return "error";
  }
  return "error";
}

std::optional<StopDecision> CheckStop(const ClimbRules& rules, ClimbState& state, const Observation& now) {
  if (now.interrupted) {
    return StopDecision{StopReason::kInterrupted, "stopped by a signal before the target"};
  }
  if (now.held > state.best_held) {
    state.best_held = now.held;
    state.last_progress_t = now.t;
  }
  if (now.held >= rules.target) {
    return StopDecision{StopReason::kTarget, fmt::format("held {} connections, the target", FormatCount(now.held))};
  }
  if (now.usable_bytes < rules.reserve_bytes) {
    return StopDecision{StopReason::kMemoryReserve,
                        fmt::format("usable memory (free memory and page cache; MemAvailable also counts the "
                                    "sockets' pinned slab) fell to {}, under the reserve of {}",
                                    FormatBytes(double(now.usable_bytes)), FormatBytes(double(rules.reserve_bytes)))};
  }
  if (now.memory_pressure >= rules.max_pressure) {
    return StopDecision{StopReason::kMemoryReserve,
                        fmt::format("the box stalls on memory: every runnable task waited for memory {:.0f}% of the last 10 s "
                                    "(PSI, limit {:.0f}%), with {} still usable",
                                    now.memory_pressure, rules.max_pressure, FormatBytes(double(now.usable_bytes)))};
  }
  double stalled = now.t - state.last_progress_t;
  if (now.connect_errors && stalled >= rules.stall_seconds) {
    return StopDecision{StopReason::kLimit, fmt::format("no new connection for {:.0f} s while connects fail", stalled)};
  }
  if (stalled >= rules.idle_seconds || (now.attempts_done && stalled >= rules.done_idle_seconds)) {
    return StopDecision{StopReason::kStalled, fmt::format("no new connection held for {:.0f} s", stalled)};
  }
  if (now.t >= rules.timeout_seconds) {
    return StopDecision{StopReason::kTimeout, fmt::format("the time limit of {:.0f} s ran out", rules.timeout_seconds)};
  }
  return std::nullopt;
}

}  // namespace tcpmax::probe

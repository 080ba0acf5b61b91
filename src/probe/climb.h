// The climb's stop rules: after each sample, CheckStop says whether the climb
// ends and why. Pure and unit-tested without processes; RunProbe feeds it.
//
// Rules, in order:
//   kInterrupted    a stop signal arrived;
//   kError          a shard died or a reading failed (the caller decides);
//   kTarget         held >= target;
//   kMemoryReserve  usable memory fell under the reserve, or the box stalls
//                   on memory (PSI "full" avg10 at or over max_pressure)
//                   (memory_guard.h);
//   kLimit          no new connection for `stall_seconds` while connects fail;
//   kStalled        no new connection for `idle_seconds`, or for
//                   `done_idle_seconds` once every attempt was answered;
//   kTimeout        the climb ran `timeout_seconds`.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tcpmax::probe {

enum class StopReason { kTarget, kMemoryReserve, kLimit, kStalled, kTimeout, kInterrupted, kError };
// "target reached", "memory reserve", "limit", "stalled", "timeout", "interrupted", "error"
std::string_view StopReasonName(StopReason r);

struct ClimbRules {
  uint64_t target = 0;
  uint64_t reserve_bytes = 0;
  double max_pressure = 100;    // percent of PSI memory "full" avg10
  double stall_seconds = 10;
  double idle_seconds = 20;
  double done_idle_seconds = 5;
  double timeout_seconds = 600;
};

// What one sample saw.
struct Observation {
  double t = 0;               // seconds since the climb started
  uint64_t held = 0;          // connections held at once (both ends)
  uint64_t usable_bytes = 0;  // memory the box can still give (memory_guard.h)
  double memory_pressure = 0;  // PSI memory "full" avg10, percent (0 without PSI)
  bool connect_errors = false;  // some connects failed so far
  bool attempts_done = false;   // every load shard answered all its attempts
  bool interrupted = false;
};

// Progress between samples. Updated by CheckStop.
struct ClimbState {
  uint64_t best_held = 0;
  double last_progress_t = 0;
};

struct StopDecision {
  StopReason reason = StopReason::kTarget;
  std::string detail;         // one sentence: what happened
};

std::optional<StopDecision> CheckStop(const ClimbRules& rules, ClimbState& state, const Observation& now);

}  // namespace tcpmax::probe

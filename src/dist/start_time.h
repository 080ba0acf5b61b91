// A coordinated start (--start-at): every rank sleeps until the same wall
// clock instant, so with synchronised clocks (NTP/PTP) they begin within a
// few milliseconds of each other.
//
// Forms: RFC 3339 ("2026-12-01T09:30:00Z", "2026-12-01T10:30:00.250+01:00")
// or "+DURATION" ("+10s"), relative to a base that all ranks receive: the
// TCPMAX_START_BASE variable (Unix seconds, e.g. `export
// TCPMAX_START_BASE=$(date +%s)` before mpirun/srun), else this process's
// own start (then ranks begin only as close together as they were launched).
// Thread-safety: pure, except WaitUntil (sleeps on the caller's thread).
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>

#include "core/error.h"

namespace tcpmax::dist {

using WallTime = std::chrono::system_clock::time_point;

// A start more than this far in the past is refused (a stale command line).
inline constexpr std::chrono::seconds kStartTolerance{2};

// Parses an RFC 3339 instant ("Z" or a numeric offset; fraction optional).
Result<WallTime> ParseRfc3339(std::string_view text);
// "2026-12-01T09:30:00.250Z" (UTC, milliseconds).
std::string FormatRfc3339(WallTime t);
// Parses TCPMAX_START_BASE: Unix seconds, fraction allowed.
Result<WallTime> ParseUnixSeconds(std::string_view text);

// Parses --start-at against `base` (for "+10s") and checks it against `now`:
// more than kStartTolerance in the past is an error naming both instants.
Result<WallTime> ParseStartAt(std::string_view text, WallTime base, WallTime now);

// Sleeps until the wall clock reaches `start` or `stop` becomes true.
// Returns how late it woke (nanoseconds, >= 0), or nullopt when stopped.
std::optional<int64_t> WaitUntil(WallTime start, const std::atomic<bool>& stop);

}  // namespace tcpmax::dist

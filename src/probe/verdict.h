// Verdict: which limit bound a climb, named with the finding ids of
// `tcpmax limits` (so the report compares it with the prediction row by row),
// and what to do about it. Pure; thread-safe.
#pragma once

#include <string>

#include "limits/errno_class.h"
#include "probe/climb.h"

namespace tcpmax::probe {

struct Verdict {
  std::string binding_id;     // "" when the target was reached or nothing explains the stop
  std::string binding_limit;  // human name
  std::string remedy;
};

// `errors`: the load shards' failures by errno; the most frequent class names
// the limit when the climb stopped at a limit or stalled.
Verdict Decide(StopReason reason, const limits::ErrorCounts& errors);

}  // namespace tcpmax::probe

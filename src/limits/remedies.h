// Remedies: for each finding, the exact command or config line that raises
// it, sized so the next limit becomes the one that binds.
// Internal to src/limits. Pure functions.
#pragma once

#include "limits/findings.h"

namespace tcpmax::limits {

// Fills Finding::remedies for every finding of `d`. `target` is the number
// of connections the remedy should make room for (the next limit, or the
// box ceiling for per-process limits); `overhead_fds` is the program's own fds.
void AddRemedies(const Context& c, Direction& d, uint64_t overhead_fds);

}  // namespace tcpmax::limits

// Running a helper program (`ip`) and waiting for it.
//
// The child gets its own process group, so a Ctrl-C meant for tcpmax does not
// kill a cleanup step half-way; stdout and stderr are captured together.
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace tcpmax::sys {

// Runs argv (argv[0] looked up in PATH), waits, and returns its output; fails
// with the output when it exits non-zero or dies of a signal.
Result<std::string> RunCommand(const std::vector<std::string>& argv);

// "ip netns add x" for {"ip", "netns", "add", "x"}.
std::string JoinArgs(const std::vector<std::string>& argv);

}  // namespace tcpmax::sys

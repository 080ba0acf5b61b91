// The server's own count of what a client holds: what `tcpmax load
// --server-pid` reports beside its client-side figures, so a connection the
// server has not accepted is never called held without saying so.
// Thread-safety: reentrant (reads /proc and sock_diag).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"

namespace tcpmax::probe {

struct ServerView {
  pid_t pid = 0;
  std::string name;          // comm of the process
  size_t processes = 0;      // it and its descendants
  uint64_t held = 0;         // accepted sockets on the ports its processes hold (by inode)
  uint64_t accepted = 0;     // accepted sockets on the ports, any owner
  uint64_t queued = 0;       // established, waiting in its listen queue
  uint64_t close_wait = 0;   // closed by the client, not yet by the server
  uint64_t fds = 0;          // its processes' open descriptors
  uint64_t nofile_soft = 0;  // the smallest soft RLIMIT_NOFILE among them
};

// Fails (the user's error) when `pid` does not exist or neither it nor a
// descendant holds a listening socket on every port.
Result<void> CheckServerListens(pid_t pid, const std::vector<PortRange>& ports);
// Counts now: walks the processes' descriptors once (not for every sample).
Result<ServerView> ViewServer(pid_t pid, const std::vector<PortRange>& ports);

}  // namespace tcpmax::probe

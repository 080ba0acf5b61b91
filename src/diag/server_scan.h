// The sockets on a server's ports, classified by who holds them: what
// `probe --server` counts every sample. A connection the client sees as
// established is, on the server's side, one of:
//   - in an accept queue: ESTABLISHED with no file yet (inode 0), counted in
//     the LISTEN socket's rqueue too;
//   - accepted: ESTABLISHED with a file (inode != 0); when `owned` is given,
//     `owned` counts those whose inode the server's processes hold (the
//     verification that "held by the server" means the server);
//   - CLOSE_WAIT: the client closed and the server has not yet.
// LISTEN sockets give the queue length (rqueue) and the backlog (wqueue).
// Matching is by local port only (the server's ports): run it in the
// namespace where the server listens.
// Not thread-safe: one scan at a time per call.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/address.h"
#include "core/error.h"

namespace tcpmax::diag {

struct ServerSockets {
  uint64_t listeners = 0;    // LISTEN sockets on the ports
  uint64_t queued = 0;       // sum of their rqueue: handshakes done, not accepted
  uint64_t backlog = 0;      // sum of their wqueue: the queues' sizes
  uint64_t established = 0;  // ESTABLISHED on the ports (server side)
  uint64_t no_file = 0;      // of those, without a file: not accepted yet
  uint64_t accepted = 0;     // of those, with a file
  uint64_t owned = 0;        // of those, held by the given inodes (0 when none given)
  uint64_t close_wait = 0;   // closed by the client, still open in the server
  uint64_t syn_recv = 0;     // handshakes in progress
  bool interrupted = false;  // the kernel flagged a dump inconsistent
  std::vector<std::pair<uint16_t, uint64_t>> listening;  // (port, inode) of each LISTEN socket
};

// Scans every TCP socket whose local port is in `ports`. `owned` (sorted
// inodes; may be empty) marks the server's own. Fails with the dump's errno.
Result<ServerSockets> ScanServerSockets(std::span<const PortRange> ports, std::span<const uint64_t> owned = {});

}  // namespace tcpmax::diag

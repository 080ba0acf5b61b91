// Verification: after the climb, the kernel's count of both ends of the
// probe's connections is compared with what the shards say they hold.
//
// The server end: established sockets on the plan's server ports (sport);
// the client end: established sockets towards them (dport) from the plan's
// source range. Each is compared with the serve shards' and the load shards'
// own figures; a difference over 0.1% fails the verification, named:
//   - the count failed, or the kernel reported an interrupted dump;
//   - client ends with no server end (half-open);
//   - server ends the kernel established that serve never accepted (they wait
//     in the accept queue: sock_diag lists them on the listening port);
//   - server or client counts that differ from what the shards hold.
// Judge is pure (unit-tested); Verify counts with diag and then judges.
// Thread-safety: pure / reentrant.
#pragma once

#include <cstdint>
#include <string>

#include "probe/plan.h"

namespace tcpmax::probe {

inline constexpr double kVerifyTolerance = 0.001;  // 0.1%

struct Verification {
  uint64_t server_counted = 0;   // established on the server ports (kernel)
  uint64_t client_counted = 0;   // established towards them (kernel)
  uint64_t serve_held = 0;       // what the serve shards report
  uint64_t load_held = 0;        // what the load shards report
  bool interrupted = false;      // the kernel's dump stayed inconsistent
  std::string count_error;       // the count itself failed
  bool ok = false;
  std::string problem;           // empty when ok
};

Verification Judge(Verification v);
Verification Verify(const Plan& plan, uint64_t serve_held, uint64_t load_held);

}  // namespace tcpmax::probe

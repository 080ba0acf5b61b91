// What stops the user's server, from what the climb measured. Pure: a
// function of the report so far (processes, samples, final counts, the
// recognised configuration), unit-tested on made-up reports.
//
// Rules, first that holds wins (all that hold are listed as findings):
//   target reached                       -> nothing binds
//   memory guard tripped                 -> "memory" (the box)
//   the server's memory group near its limit -> "cgroup_memory"
//   an accepting process at its RLIMIT_NOFILE (descriptors within 2 of the
//     soft limit) -> "rlimit_nofile_soft"; evidence: descriptors, the listen
//     queue, ListenOverflows
//   the server closes connections within a second of accepting them ->
//     "server.connection_cap" (nginx: worker_connections x workers)
//   the server closes connections after a steady idle time -> "server.idle_timeout"
//   the listen queue full and accepting stopped: the server at 90% of the
//     cores it can use -> "server.cpu"; else -> "server.not_accepting"
//   client connects failing -> the limits id of their errno (client side)
//   otherwise                            -> "unknown", with what was seen
#pragma once

#include <vector>

#include "probe/server_report.h"

namespace tcpmax::probe {

struct ServerVerdictInput {
  const ServerReport* report = nullptr;
  std::optional<uint64_t> cgroup_limit;  // the server's memory group's limit, bytes
  uint64_t cgroup_usage = 0;             // its usage at the peak, bytes
  unsigned cores = 1;
};

// Findings, binding first; empty when the target was reached.
std::vector<ServerFinding> DiagnoseServer(const ServerVerdictInput& in);

}  // namespace tcpmax::probe

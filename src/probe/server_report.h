// ServerReport: everything `tcpmax probe --server` measured about the user's
// server, the model src/report renders as text, JSON (schema
// tcpmax.probe-server/1, docs/probe-server.md) and HTML. Plain data.
//
// Points of view, named in every field:
//   client   what the load shards see (connect() succeeded and no close since)
//   server   what the server's processes hold: sockets they accepted (a file)
//            whose inode is among their descriptors
//   queued   established in the kernel, waiting in the listen queue: the
//            client thinks it is connected, the server has not accepted it
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probe/climb.h"
#include "probe/fit.h"
#include "probe/report.h"

namespace tcpmax::probe {

// One process of the server, at the start and at the peak.
struct ServerProcess {
  pid_t pid = 0;
  std::string comm;
  std::string cmdline;
  uint64_t nofile_soft = 0;     // sys::kUnlimited for "unlimited"
  uint64_t nofile_hard = 0;
  uint64_t fds_start = 0, fds_peak = 0;
  uint64_t anon_start = 0, anon_peak = 0;  // bytes
  uint64_t threads = 0;
  bool listens = false;         // holds one of the listening sockets
};

struct ServerSample {
  double t = 0;
  uint64_t client_held = 0;     // load: established and not closed
  uint64_t opened = 0;          // load: connects that succeeded so far
  uint64_t failed = 0;          // load: connects that failed so far
  uint64_t closed_by_server = 0;  // load: held connections the server closed so far
  uint64_t accepted = 0;        // server side: established with a file (accepted)
  uint64_t queued = 0;          // server side: established, waiting in a listen queue
  uint64_t backlog = 0;         // the listen queues' size
  uint64_t close_wait = 0;
  uint64_t fds = 0;             // the server's open descriptors, all processes
  uint64_t anon = 0;            // the server's anonymous memory, bytes
  double cpu_percent = 0;       // the server's CPU use since the last sample (100 = one core)
  uint64_t threads = 0;
  int64_t cg_kernel = 0;        // server's memory group: kernel + socket memory growth, bytes
  int64_t cg_usage = 0;         // server's memory group: usage growth, bytes
  int64_t client_kernel = 0;    // load shards' memory group: kernel + socket memory growth
  int64_t slab = 0;             // the box's Slab growth, bytes
  int64_t socket_slab = 0;      // the socket caches' growth (sys::kSocketCaches), both ends, bytes
  uint64_t usable = 0;          // memory the box can still give (memory_guard.h)
  double rate = 0;              // accepted connections/s over the last second
  double pace = 0;              // the load's opening rate now (paced climb), connections/s
  uint64_t listen_overflows = 0;  // TcpExt.ListenOverflows since the start
  uint64_t listen_drops = 0;
};

// What stops the server, with its evidence and the remedy.
struct ServerFinding {
  std::string id;               // a limits finding id ("rlimit_nofile_soft") or "server.*"
  std::string limit;            // its name
  uint64_t ceiling = 0;         // connections it allows (0: not a count)
  std::vector<std::string> evidence;
  std::string remedy;           // the exact setting where the server is recognised
};

// The server as recognised from its command line and configuration.
struct ServerKind {
  std::string name;             // "nginx", "" when not recognised
  std::string config;           // the file read
  std::map<std::string, std::string> settings;  // "worker_connections" -> "768"
  std::string note;             // what could not be read
};

struct ServerReport {
  // What was asked.
  std::string server;           // ADDR:PORTS
  std::string named_by;         // "--pid 1234", "--exec 'nginx -c x'", "--cgroup /x"
  std::string name;             // the main process's comm
  std::string command;          // its command line
  pid_t pid = 0;                // the main process
  std::string cgroup;           // the server's memory group (dir), "" when unknown
  int cgroup_version = 0;
  bool cgroup_own = false;      // tcpmax created it (--exec) or the user named it (--cgroup)
  uint64_t target = 0;
  std::string engine;           // load engine
  int load_processes = 0;
  ServerKind kind;

  // Machine.
  std::string kernel;
  unsigned cores = 0;
  uint64_t mem_total = 0;
  uint64_t mem_available_start = 0;
  uint64_t reserve_bytes = 0;

  std::vector<ServerProcess> processes;

  // Outcome.
  uint64_t held = 0;            // server: connections its processes hold (verified at the end)
  uint64_t accepted_peak = 0;   // server side: most accepted at once during the climb
  uint64_t client_held = 0;     // client: held at the end
  uint64_t queued = 0;          // in the listen queues at the end: established for the client, not held
  uint64_t close_wait = 0;
  uint64_t closed_by_server = 0;
  double closed_after_p50 = 0;  // seconds from established to the server's close
  double closed_after_p10 = 0;
  double closed_after_p90 = 0;
  bool target_reached = false;
  StopReason stop_reason = StopReason::kError;
  std::string stop_detail;
  std::optional<ServerFinding> binding;   // what stopped the server (none when the target was reached)
  std::vector<ServerFinding> findings;    // everything that applies, binding first
  std::map<std::string, uint64_t> errors;  // client connect errors by class
  std::map<std::string, uint64_t> counters;  // TcpExt deltas over the run
  double climb_seconds = 0;
  double mean_rate = 0;         // accepted/s over the climb
  double peak_rate = 0;
  double max_sample_gap_seconds = 0;
  bool guard_tripped = false;
  double pace_rate = 0;         // the paced climb's opening rate at the end (0: --rate fixed it)
  bool paced = false;
  uint64_t client_attempted = 0;  // load: connects attempted (fresh report at the end)
  uint64_t client_failed = 0;
  uint64_t client_inflight = 0;
  uint64_t client_only = 0;     // established for the client, no socket on the server (SYN cookies while the queue was full)

  // Verification (at the end, after the load settled).
  bool verified = false;
  bool verification_ok = false;
  uint64_t verified_owned = 0;     // accepted sockets whose inode the server's processes hold
  uint64_t verified_accepted = 0;  // accepted sockets on the ports (any owner)
  std::string verification_detail;

  // Cost per connection the server holds.
  double user_bytes = 0;        // the server's anonymous memory growth per held connection
  double kernel_bytes = 0;      // the server's kernel memory per held connection
  std::string kernel_source;    // how kernel_bytes was measured
  double cgroup_kernel_bytes = 0;  // what the server's own memory group is charged per connection (kernel + sock)
  double client_kernel_bytes = 0;  // the load side's kernel memory per connection (its own group)
  LineFit user_fit, kernel_fit, slab_fit, socket_slab_fit;
  double client_socket_bytes = 0;  // the socket-cache objects one load-side socket owns (objsize sum)
  uint64_t projected = 0;       // what this box could hold for this server (min of below)
  std::vector<PredictedLimit> projection;

  std::vector<std::string> notes;
  std::vector<ServerSample> samples;

  bool failed() const { return stop_reason == StopReason::kError || (verified && !verification_ok); }
};

}  // namespace tcpmax::probe

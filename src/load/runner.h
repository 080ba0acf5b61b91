// LoadRunner: runs a whole `tcpmax load`: plans processes and workers,
// starts them, reports progress each interval, holds, stops, and sums.
//
// Past the per-process fd limit: RaiseFdLimit() first lifts the soft
// RLIMIT_NOFILE to the hard one. Then the uring engine needs no more
// processes (direct descriptors, as many rings as needed); the epoll engine
// forks ceil(connections / (soft limit - 64)) processes (PlanProcesses) and
// each child runs its share; the parent sums their JSON reports.
//
// Connection i (over the whole run) goes to worker w of process p where
// i mod (P*K) == p*K + w, so every process and worker gets an even slice of
// the (source, target) pairs. At most 8,192 connects are in flight over the
// whole run (split evenly): more only overflows the server's accept queues.
//
// Stopping: the run stops when `stop` becomes true (the CLI's SIGINT/SIGTERM
// handler sets it; forked shards inherit the handler) or `hold_ns` after
// the ramp completes. Every connection is then closed with RST.
// Threading: RunLoad runs on the caller's thread and calls `tick` there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"
#include "load/stats.h"
#include "load/source_plan.h"

namespace tcpmax::load {

enum class LoadEngine { kEpoll, kUring };

struct LoadOptions {
  std::vector<Endpoint> targets;
  std::vector<Cidr> sources;
  uint64_t connections = 0;
  double rate = 0;                          // attempts/s over the run; 0: unlimited
  std::optional<uint64_t> hold_ns = 0;      // after the ramp; nullopt: until stopped
  LoadEngine engine = LoadEngine::kEpoll;
  int workers = 0;                          // per process; 0: cores / processes
  int processes = 0;                        // 0: as the fd limit requires
  uint64_t connect_timeout_ns = 3'000'000'000ull;
  uint64_t ping_interval_ns = 0;
  uint64_t interval_ns = 1'000'000'000ull;  // progress period
};

enum class LoadEvent { kProgress, kDone };
// Called each interval with the run's totals so far and the rate (conn/s)
// over the last interval; once with kDone when every attempt was answered.
using LoadTick = std::function<void(LoadEvent, const LoadStats&, double rate)>;

// Lifts soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
uint64_t RaiseFdLimit();
// The process count the run will use (see above).
int PlanProcesses(const LoadOptions& o);
int PlanWorkers(const LoadOptions& o, int processes);

// Runs the load; returns the final totals (histograms included).
Result<LoadStats> RunLoad(const LoadOptions& o, const std::atomic<bool>& stop, const LoadTick& tick);

}  // namespace tcpmax::load

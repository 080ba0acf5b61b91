// The load runner: plans a whole `tcpmax load` once (PlanLoad), then runs it
// (RunLoad) in this process or in forked shards, or runs one shard of it in
// a process someone else forked (RunShard: what `tcpmax probe` does).
//
// Past the per-process fd limit: PlanLoad raises the soft RLIMIT_NOFILE to
// the hard one. The uring engine then needs no more processes (direct
// descriptors, as many rings as needed); the epoll engine splits the run over
// ceil(connections / (soft limit - 64)) processes, at most kMaxProcesses.
//
// Connection i (over the whole run) goes to worker w of process p where
// i mod (P*K) == p*K + w, so every process and worker gets an even slice of
// the (source, target) pairs. At most 8,192 connects are in flight over the
// whole run (split evenly): more only overflows the server's accept queues.
//
// Stopping: RunLoad stops when `stop` becomes true (the CLI's signal handler
// sets it) or `hold_ns` after the ramp completes; shards stop on the
// supervisor's kStop and stop opening on kStopOpening. Every connection is
// closed with RST (SO_LINGER 0); with the session layer, after up to 3 s for
// the answers to messages and pings in flight (none are sent meanwhile).
// Threading: RunLoad and RunShard run on the caller's thread (which must not
// have started other threads when RunLoad forks) and call `tick` there.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/engine.h"
#include "core/error.h"
#include "load/session.h"
#include "load/source_plan.h"
#include "load/stats.h"
#include "sys/shard.h"

namespace tcpmax::load {

inline constexpr int kMaxProcesses = 512;

struct LoadOptions {
  std::vector<Endpoint> targets;
  std::vector<Cidr> sources;
  uint64_t connections = 0;
  uint64_t hold_target = 0;                 // 0: none; else hold at most this many at once (split like connections)
  double rate = 0;                          // attempts/s over the run; 0: unlimited
  std::optional<uint64_t> hold_ns = 0;      // after the ramp; nullopt: until stopped
  Engine engine = Engine::kEpoll;           // kEpoll or kUring (resolve kAuto first: ChooseLoadEngine)
  int workers = 0;                          // per process; 0: cores / processes
  int processes = 0;                        // 0: as the fd limit requires
  uint64_t connect_timeout_ns = 3'000'000'000ull;
  uint64_t ping_interval_ns = 0;
  uint64_t interval_ns = 1'000'000'000ull;  // progress period
  SessionOptions session;                   // --proto, --tls, --message... (either engine)
  SourceWindow source_window;               // this rank's slice of `sources` (dist/partition.h)
  std::string netns;                        // open every connection in this named namespace; "": here
  bool watch_held = true;                   // false: --no-watch (WorkerPlan::watch_held)
  bool explicit_ports = false;              // --bind-ports: SourcePlan::UseExplicitPorts over ip_local_port_range
};

// A run planned once: what RunLoad and RunShard execute.
struct LoadRun {
  LoadOptions options;
  SourcePlan plan;
  int processes = 1;
  int workers = 1;
  uint64_t soft_nofile = 0;                 // after raising it
  std::string engine_note;                  // why kAuto became epoll, when it did
};

// Resolves the engine (kAuto: io_uring when IORING_OP_CONNECT with direct
// descriptors works here, else epoll with a note; with the session layer on,
// epoll unless --engine uring asked for io_uring: the session layer runs on
// both), raises RLIMIT_NOFILE,
// plans sources, processes and workers. Fails on an explicit engine that
// cannot work, or a run that would need more than kMaxProcesses processes.
Result<LoadRun> PlanLoad(LoadOptions options);

enum class LoadEvent { kProgress, kDone };
// Called each interval with the run's totals so far and the rate (conn/s)
// over the last interval; once with kDone when every attempt was answered.
using LoadTick = std::function<void(LoadEvent, const LoadStats&, double rate)>;

// Runs the whole load; returns the final totals (histograms included).
Result<LoadStats> RunLoad(const LoadRun& run, const std::atomic<bool>& stop, const LoadTick& tick);

// Runs shard `shard` of run.processes in this process: reports kProgress
// every `interval_ns` through `channel`, holds until kStop, then sends
// kFinal. Returns the process exit code.
int RunShard(const LoadRun& run, int shard, sys::ShardChannel& channel, uint64_t interval_ns);

}  // namespace tcpmax::load

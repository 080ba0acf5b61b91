// RunServe: a whole `tcpmax serve` run, and RunShard: one serve shard of a
// probe. Both start a Server, sample it every interval, stop it on request
// and return what it held. The CLI only parses flags and renders.
//
// Engine choice (ChooseEngine): kAuto is io_uring with direct
// descriptors when every feature it needs works here, else epoll with a note;
// an explicit kUring that cannot work is an Error saying why.
// Threading: runs on the caller's thread; `stop` may be set from a signal
// handler; the observer's callbacks run on the caller's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/error.h"
#include "serve/server.h"
#include "sys/shard.h"

namespace tcpmax::serve {

// Resolves kAuto; `note` says why auto fell back to epoll.
Result<Engine> ChooseEngine(Engine requested, std::string* note);

struct ServeRunOptions {
  ServeOptions server;               // engine already resolved
  uint64_t duration_ns = 0;          // 0: until `stop`
  uint64_t interval_ns = 1'000'000'000;
};

struct ServeProgress {
  double t = 0;                      // seconds since the server started
  ServeSnapshot snapshot;
  double accept_rate = 0;            // accepted/s over the last interval
  uint64_t rss_bytes = 0;
};

struct ServeOutcome {
  std::vector<Endpoint> endpoints;   // listened on (port 0 resolved)
  int backlog = 0;
  ServeSnapshot at_stop;             // counters after the server closed everything
  uint64_t held_before_stop = 0;
  uint64_t peak_held = 0;
  uint64_t rss_start_bytes = 0;
  uint64_t rss_before_stop_bytes = 0;
  double seconds = 0;
  bool by_duration = false;          // false: stopped by `stop`
};

struct ServeObserver {
  std::function<void(const Server&)> on_ready;          // listening
  std::function<void(const ServeProgress&)> on_progress;
};

Result<ServeOutcome> RunServe(const ServeRunOptions& options, const std::atomic<bool>& stop,
                              const ServeObserver& observer);

// A serve shard: starts the server, sends kReady (or kFailed with the error),
// kProgress every `interval_ns`, and after kStop closes everything and sends
// kFinal. Returns the process exit code.
int RunShard(const ServeOptions& options, sys::ShardChannel& channel, uint64_t interval_ns);

}  // namespace tcpmax::serve

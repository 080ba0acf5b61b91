// Prediction: the ceiling `tcpmax limits` gives for this climb, computed
// before anything starts and under the settings the climb will run with
// (what --tune will set, and the probe's memory reserve taken off
// MemAvailable), as the minimum over every limit that applies to the run:
// per-user (epoll watches) and whole-box limits and the tuple space.
// Per-process limits are planned around (plan.h spreads the connections over
// enough processes and refuses past kMaxShardProcesses).
// Rows carry the finding ids of limits/, so predicted and measured line up.
// Thread-safety: pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "limits/snapshot.h"
#include "probe/plan.h"
#include "probe/report.h"
#include "probe/tune.h"

namespace tcpmax::probe {

struct Prediction {
  bool known = false;             // some limit bounds the run
  uint64_t ceiling = 0;
  std::string binding_id;         // limits finding id: "memory", "fs.file-max", ...
  std::string binding_limit;      // its name: "MemAvailable"
  std::string arithmetic;         // "min(...) = ..."
  std::vector<PredictedLimit> limits;
  std::vector<std::string> notes; // what was assumed
};

// What a climb costs beyond the sockets' slab, measured on this kernel
// (bench/RESULTS.md, issue 14, 1,000,000 connections): the shards' user
// memory per connection (load 31 B + serve 6 B) and the kmalloc objects that
// grow with the connections (kmalloc-192 0.3 and kmalloc-128 0.15 per
// connection: 78 B); and per shard process its own memory at start (anonymous
// pages 1.6-2.6 MB and 80 KB of page tables: 2 MiB).
inline constexpr uint64_t kClimbExtraBytesPerConnection = 37 + 78;
inline constexpr uint64_t kShardProcessBytes = 2ull << 20;

// `snapshot` as read now; `settings` what --tune will set (empty without it).
// `usable`: the memory guard's usable memory now (memory_guard.h; 0: use
// MemAvailable), the figure the climb stops on. `watched`: each held socket
// carries an epoll item.
Prediction Predict(limits::Snapshot snapshot, const std::vector<Setting>& settings, const Plan& plan,
                   uint64_t reserve_bytes, uint64_t usable = 0, bool watched = true);

}  // namespace tcpmax::probe

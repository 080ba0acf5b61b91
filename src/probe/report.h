// ProbeReport: everything `tcpmax probe` predicted and measured, the model
// that src/report renders as text, JSON (schema tcpmax.probe/2, see
// docs/probe.md) and HTML. Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "probe/climb.h"
#include "probe/fit.h"
#include "probe/plan.h"
#include "probe/slab_share.h"
#include "probe/verify.h"

namespace tcpmax::probe {

// One sample of the climb, taken every --interval.
struct Sample {
  double t = 0;                 // seconds since the climb started
  uint64_t established = 0;     // connections held (the smaller of the two sides' own counts)
  uint64_t opened = 0;          // connections load opened so far
  uint64_t failed = 0;          // connect attempts that failed
  double rate = 0;              // new connections/s over the last second
  int64_t mem_used = 0;         // MemAvailable at start minus now, bytes (kernel and user space)
  int64_t kernel = 0;           // mem_used minus the shards' anonymous memory growth: the kernel's share
  int64_t slab = 0;             // Slab (kernel objects) growth since start, bytes
  // Anonymous memory (heap, stacks) the serve / load shards grew since each
  // started, bytes: their user-space cost (file-backed pages are left out,
  // since the kernel reclaims them under the very pressure a climb creates).
  uint64_t anon_serve = 0;      // bytes, serve shards
  uint64_t anon_load = 0;       // bytes, load shards
  uint64_t file_nr = 0;         // fs.file-nr: allocated file handles
  uint64_t usable = 0;          // memory the box can still give (memory_guard.h), bytes
  double memory_pressure = 0;   // PSI memory "full" avg10, percent
  // Growth of the socket caches (sys::kSocketCaches: socket, inode, file,
  // epoll watch; not dentries, which /proc walkers inflate), bytes.
  int64_t socket_slab = 0;
};

// One limit the model predicts, for the predicted-vs-measured rows.
struct PredictedLimit {
  std::string id;               // limits finding id: "fs.file-max", "memory"
  std::string limit;            // its name
  uint64_t ceiling = 0;         // connections it allows
  bool binding = false;
};

struct ProbeReport {
  // What was asked.
  uint64_t target = 0;
  bool max_mode = false;
  bool tuned = false;
  std::string engine;
  Plan plan;

  // Machine.
  std::string kernel;
  unsigned cores = 0;
  uint64_t mem_total = 0;
  uint64_t mem_available_start = 0;
  uint64_t reserve_bytes = 0;

  // Outcome.
  uint64_t reached = 0;                 // most connections held at once
  bool target_reached = false;
  StopReason stop_reason = StopReason::kError;
  std::string stop_detail;              // one sentence: what happened
  std::string binding_id;               // limits finding id of what bound ("" when the target was reached)
  std::string binding_limit;            // its name, or "none: the target was reached"
  std::string remedy;                   // what to do to go further
  std::map<std::string, uint64_t> errors;  // errno class -> count
  double climb_seconds = 0;
  double mean_rate = 0;                 // connections/s over the climb
  double peak_rate = 0;
  double teardown_seconds = 0;
  double max_sample_gap_seconds = 0;    // the longest time between two samples
  bool guard_tripped = false;           // the memory guard told the load shards to stop opening
  // Connects attempted after the trip (counted from the last report before
  // it, so up to one interval of attempts made before it count too).
  uint64_t attempted_after_guard = 0;
  Verification verification;            // both ends counted by the kernel at the peak
  bool verified = false;                // a verification ran

  // Memory.
  double kernel_bytes = 0;              // kernel bytes per connection: max of the two fits below
  LineFit kernel_fit;                   // MemAvailable drop minus the shards' anonymous growth vs connections
  LineFit slab_fit;                     // slab growth vs connections
  LineFit socket_slab_fit;              // socket-cache growth vs connections: what the sockets themselves cost
  double user_bytes_serve = 0;          // RSS per held connection, serve side
  double user_bytes_load = 0;           // RSS per held connection, load side
  SlabShare slab_share;                 // slab growth by cache at the peak, the sockets' share apart
  bool watched = true;                  // held connections watched (epoll item / armed recv) by both sides
  uint64_t netns_buckets = 0;           // the probe's own namespace's established hash; 0: the host's namespace
  uint64_t host_buckets = 0;            // the host's established hash, when netns_buckets is set

  // Prediction (probe/predict.h), made before the climb.
  uint64_t predicted_ceiling = 0;
  std::string predicted_binding_id;
  std::string predicted_binding;
  std::string predicted_explain;        // one line of arithmetic
  std::vector<std::string> predicted_notes;
  uint64_t projected_by_memory = 0;     // MemAvailable / measured bytes per connection
  std::vector<PredictedLimit> predicted;

  std::vector<std::string> settings_changed;  // "net.core.somaxconn: 4096 -> 65535 (restored)"
  std::vector<std::string> notes;
  std::vector<Sample> samples;

  // The run failed: an error stopped it, or the verification disagreed.
  bool failed() const { return stop_reason == StopReason::kError || (verified && !verification.ok); }
};

}  // namespace tcpmax::probe

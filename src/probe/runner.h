// The probe's main job in two calls:
//   Prepare   reads the box, sizes --max, lists what --tune will set, plans
//             the shards and predicts the ceiling under those settings. It
//             changes nothing; its errors are the user's to fix (a target the
//             box cannot host, too many processes) and come before anything
//             starts.
//   RunProbe  applies --tune, forks the serve shards and then the load shards
//             (sys/shard.h, running serve::RunShard and load::RunShard),
//             samples every interval, stops at the first rule of climb.h that
//             fires (the memory guard commands the load shards to open
//             nothing more at once), settles, verifies both ends against the
//             kernel (verify.h), tears down with RST, restores the settings,
//             and names the binding limit (verdict.h).
// Thread-safety: runs on the caller's thread, which must not have started
// other threads (shards are forked); `stop` may be set from a signal handler.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/engine.h"
#include "core/error.h"
#include "probe/box.h"
#include "probe/plan.h"
#include "probe/predict.h"
#include "probe/report.h"
#include "probe/tune.h"
#include "sys/reader.h"

namespace tcpmax::probe {

// Kernel bytes per loopback connection (both ends) used to size --max before
// anything is measured: the slab growth measured on Linux 6.18 (8,068 B per
// connection at 2.8M connections; bench/RESULTS.md).
inline constexpr double kPlanBytesPerConnection = 8000;

struct ProbeOptions {
  uint64_t target = 100'000;
  bool max = false;                  // climb until memory reserve or a limit binds
  bool tune = false;                 // raise sysctls for the run, restore after
  Engine engine = Engine::kAuto;
  double reserve_percent = 10;       // of MemTotal; never let usable memory fall below
  uint64_t reserve_bytes = 0;        // instead of reserve_percent when non-zero (--reserve 1GiB)
  double max_memory_pressure = 20;   // stop when PSI memory "full" avg10 reaches this percent
  double rate = 0;                   // connections/s for load; 0 = as fast as load goes
  std::chrono::seconds timeout{600}; // the whole climb
  std::chrono::milliseconds interval{250};
  std::chrono::milliseconds hold{0}; // keep the peak this long before teardown (to inspect it)
  uint16_t first_port = 7000;        // server ports start here
  // Nice values: shards run at shard_nice, the supervisor raises itself to
  // supervisor_nice (needs CAP_SYS_NICE; without it keeps its own, and says so),
  // so it samples on time beside hundreds of busy shards.
  int shard_nice = 10;
  int supervisor_nice = -10;
  // Sessions instead of bare connections (own engines only, epoll): the
  // serve shards speak WebSocket (--proto ws) and/or TLS with a self-signed
  // identity made in memory; the load shards the same (TLS unverified, on
  // loopback), so the ceiling and the bytes per connection are a session's.
  bool ws = false;
  bool tls = false;
  bool tls_release_buffers = false;
  bool tls_park = false;           // park idle TLS 1.3 sessions on both sides (proto/tls_record.h)
  bool sessions() const { return ws || tls; }
  // Climb in a network namespace of the probe's own, its established hash
  // sized for the target (own_netns.h); false: in the caller's namespace.
  bool own_netns = true;
  // False: held connections are not watched by either side (no epoll item,
  // no armed io_uring recv), so each costs the kernel its two sockets alone; a
  // close by either end is then seen only by the verification's count.
  // Sessions always watch (they read).
  bool watch_held = false;
  // What the shards actually do: sessions read, so they always watch.
  bool watched() const { return watch_held || sessions(); }
};

struct ProbeSetup {
  BoxFacts box;
  uint64_t target = 0;               // resolved (--max sizes it from memory)
  uint64_t reserve_bytes = 0;
  std::vector<Setting> tuning;       // what --tune will set (empty without --tune)
  Plan plan;
  Prediction prediction;
};

// `reader` is the box (live; tests pass a snapshot). Detects io_uring live.
Result<ProbeSetup> Prepare(const ProbeOptions& options, const sys::Reader& reader);

// Called after each sample (for progress) and at each phase ("starting serve").
struct ProbeObserver {
  std::function<void(const Sample&, const ProbeReport&)> on_sample;
  std::function<void(std::string_view)> on_phase;
};

// `memory` is read by the memory guard each sample (live; tests pass a fake).
Result<ProbeReport> RunProbe(const ProbeOptions& options, const ProbeSetup& setup, const ProbeObserver& observer,
                             const std::atomic<bool>& stop, const sys::Reader& memory);

}  // namespace tcpmax::probe

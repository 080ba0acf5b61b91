// RunProbe: the main job. Starts `tcpmax serve` shards, then `tcpmax load`,
// climbs to the target while sampling once per interval, stops at the target,
// at the first limit that binds, at the memory reserve, on a stop request or
// at the time limit; tears everything down (SO_LINGER 0 in the shards),
// restores what --tune changed, and returns the measured ProbeReport.
//
// The prediction fields of the report are filled by the caller (from limits).
// Thread-safety: runs on the caller's thread; `stop` may be set from a signal
// handler (it is only read).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "core/error.h"
#include "probe/plan.h"
#include "probe/report.h"
#include "sys/reader.h"

namespace tcpmax::probe {

struct ProbeOptions {
  uint64_t target = 100'000;
  bool max = false;                  // climb until memory reserve or a limit binds
  bool tune = false;                 // raise sysctls for the run, restore after
  Engine engine = Engine::kAuto;
  double reserve_percent = 10;       // of MemTotal; never let MemAvailable fall below
  double rate = 0;                   // connections/s; 0 = as fast as load goes
  std::chrono::seconds timeout{600}; // the whole climb
  std::chrono::milliseconds interval{250};
  std::chrono::milliseconds hold{0};  // keep the peak this long before teardown (to inspect it)
  uint16_t first_port = 7000;        // server ports start here
  std::string binary;                // the tcpmax executable to run shards with
};

// Called after each sample (for progress) and at each phase ("starting serve").
struct ProbeObserver {
  std::function<void(const Sample&, const ProbeReport&)> on_sample;
  std::function<void(std::string_view)> on_phase;
};

// What the runner needs from the box, read before it plans; tests replace it.
struct BoxFacts {
  uint64_t nofile_hard = 1024;
  uint32_t ephemeral_ports = 28232;
  bool uring_direct = false;
  std::string uring_reason;          // why not, when !uring_direct
  unsigned cores = 1;
  uint64_t mem_total = 0;
  uint64_t mem_available = 0;
  std::string kernel;
};
// Reads the facts through `reader` (live, or a recorded snapshot in tests).
// uring_direct and uring_reason are left for the caller to detect.
Result<BoxFacts> ReadBoxFacts(const sys::Reader& reader);

// The MemAvailable floor of a climb: `reserve_percent` of MemTotal, at least 512 MiB.
uint64_t ReserveBytes(const BoxFacts& box, double reserve_percent);

// The target --max climbs towards: what MemAvailable above the reserve holds
// at `bytes_per_conn`, so the plan has enough ports and processes.
uint64_t MaxModeTarget(const BoxFacts& box, double reserve_percent, double bytes_per_conn);

// What the box can still give during a climb. MemAvailable counts
// SReclaimable slab as available, but a socket's inode (sock_inode_cache) and
// dentry sit in "reclaimable" caches that cannot be reclaimed while the socket
// is open: trusting MemAvailable alone ran a 2.8M-connection climb into the
// OOM killer here. So what the new files pin is taken off: each new file
// (fs.file-nr growth) pins an inode and a dentry (`pinned_per_file` bytes,
// from slabinfo), and never more than SReclaimable actually grew (other
// reclaimable caches, such as /proc inodes created by a process that walks
// /proc/*/fd, stay counted as available, as they are).
struct MemoryReading {
  uint64_t available = 0;     // MemAvailable
  uint64_t reclaimable = 0;   // SReclaimable
  uint64_t files = 0;         // fs.file-nr allocated
};
uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now, uint64_t pinned_per_file);

// Bytes an open socket file pins in reclaimable caches: the footprints of
// sock_inode_cache and dentry in this kernel's slabinfo (1,059 B when
// slabinfo cannot be read: 863 + 196 measured on Linux 6.18).
uint64_t PinnedBytesPerFile(const sys::Reader& reader);

Result<ProbeReport> RunProbe(const ProbeOptions& opt, const BoxFacts& box, const ProbeObserver& observer,
                             const std::atomic<bool>& stop);

// The limit an errno class (key as in kernel/errno_class.h) points at, and
// what to do about it.
struct LimitName {
  std::string limit;
  std::string remedy;
};
LimitName LimitFromErrorKey(std::string_view key);

}  // namespace tcpmax::probe

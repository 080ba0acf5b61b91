// MemoryGuard: how much memory the box can still give a climb, and whether
// the climb must stop.
//
// Usable memory is what is free or page cache: MemFree + Active(file) +
// Inactive(file), plus the reclaimable slab there was before the climb.
// MemAvailable is not used: it counts SReclaimable slab as available, and a
// socket's inode (sock_inode_cache) and dentries sit in "reclaimable" caches
// that cannot be reclaimed while the socket is open. Measured here: at 2.29M
// connections MemAvailable still showed 9.0 GiB while Slab had grown 21 GiB,
// and the box stalled for 14 s in reclaim (the shrinkers walking millions of
// pinned dentries and the proc inodes of a process that walks /proc/*/fd);
// trusting MemAvailable alone ran a wave-1 climb into the OOM killer. Free
// plus page cache falls under the reserve right at that knee.
// The guard also trips on memory pressure (PSI "full" avg10: every runnable
// task waited for memory at once): the box stalls whoever allocates, the
// probe's supervisor and shards included. Not "some": kswapd reclaiming page
// cache counts there by itself (measured here: "some" 42% with "full" under
// 1% at 2.6M connections, no direct reclaim, the climb going on), and page
// cache is usable memory.
//
// Readings go through a sys::Reader, so tests drive the guard with a fake
// box. An unreadable /proc/meminfo is an Error, never "0 bytes left".
// Thread-safety: a MemoryGuard belongs to one thread.
#pragma once

#include <cstdint>
#include <optional>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::probe {

struct MemoryReading {
  uint64_t available = 0;     // MemAvailable (reported, not trusted)
  uint64_t reclaimable = 0;   // SReclaimable
  uint64_t files = 0;         // fs.file-nr allocated
  uint64_t slab = 0;          // Slab
  uint64_t socket_slab = 0;   // bytes in the socket caches (sys::kSocketCaches); 0 when slabinfo is unreadable
  uint64_t free = 0;          // MemFree
  uint64_t file_pages = 0;    // Active(file) + Inactive(file)
};

// Free memory and page cache now, plus the reclaimable slab of `start`
// (or less, if it shrank since).
uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now);

Result<MemoryReading> ReadMemory(const sys::Reader& reader);

class MemoryGuard {
 public:
  // Takes the baseline. `reader` must outlive the guard. The guard also trips
  // when memory pressure (PSI "full" avg10) reaches `max_pressure` percent:
  // the box then stalls in reclaim, whatever MemAvailable says.
  static Result<MemoryGuard> Start(const sys::Reader& reader, uint64_t reserve_bytes, double max_pressure = 100);

  struct Check {
    MemoryReading reading;
    uint64_t usable = 0;
    std::optional<double> pressure;  // PSI memory "full" avg10, percent (absent without PSI)
    bool tripped = false;     // usable < reserve, or pressure >= the limit: open nothing more
  };
  Result<Check> Read() const;
  const MemoryReading& baseline() const { return base_; }
  uint64_t reserve() const { return reserve_; }

 private:
  MemoryGuard(const sys::Reader& r, MemoryReading base, uint64_t reserve, double max_pressure)
      : reader_(&r), base_(base), reserve_(reserve), max_pressure_(max_pressure) {}
  const sys::Reader* reader_;
  MemoryReading base_;
  uint64_t reserve_;
  double max_pressure_;
};

}  // namespace tcpmax::probe

// MemoryGuard: how much memory the box can still give a climb, and whether
// the climb must stop at the reserve.
//
// MemAvailable counts SReclaimable slab as available, but a socket's inode
// (sock_inode_cache) and dentry sit in "reclaimable" caches that cannot be
// reclaimed while the socket is open: trusting MemAvailable alone ran a
// 2.8M-connection climb into the OOM killer here. So what the new files pin
// is taken off: each new file (fs.file-nr growth) pins an inode and a dentry
// (`pinned_per_file` bytes, from slabinfo), and never more than SReclaimable
// actually grew (other reclaimable caches, such as /proc inodes created by a
// process that walks /proc/*/fd, stay counted as available, as they are).
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
  uint64_t available = 0;     // MemAvailable
  uint64_t reclaimable = 0;   // SReclaimable
  uint64_t files = 0;         // fs.file-nr allocated
  uint64_t slab = 0;          // Slab
};

// MemAvailable now, less what the files opened since `start` pin.
uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now, uint64_t pinned_per_file);

// Bytes an open socket file pins in reclaimable caches: the footprints of
// sock_inode_cache and dentry in this kernel's slabinfo (1,059 B when
// slabinfo cannot be read: 863 + 196 measured on Linux 6.18).
uint64_t PinnedBytesPerFile(const sys::Reader& reader);

Result<MemoryReading> ReadMemory(const sys::Reader& reader);

class MemoryGuard {
 public:
  // Takes the baseline. `reader` must outlive the guard. The guard also trips
  // when memory pressure (PSI "some" avg10) reaches `max_pressure` percent:
  // the box then stalls in reclaim, whatever MemAvailable says.
  static Result<MemoryGuard> Start(const sys::Reader& reader, uint64_t reserve_bytes, double max_pressure = 100);

  struct Check {
    MemoryReading reading;
    uint64_t usable = 0;
    std::optional<double> pressure;  // PSI memory "some" avg10, percent (absent without PSI)
    bool tripped = false;     // usable < reserve, or pressure >= the limit: open nothing more
  };
  Result<Check> Read() const;
  const MemoryReading& baseline() const { return base_; }
  uint64_t reserve() const { return reserve_; }

 private:
  MemoryGuard(const sys::Reader& r, MemoryReading base, uint64_t pinned, uint64_t reserve, double max_pressure)
      : reader_(&r), base_(base), pinned_per_file_(pinned), reserve_(reserve), max_pressure_(max_pressure) {}
  const sys::Reader* reader_;
  MemoryReading base_;
  uint64_t pinned_per_file_;
  uint64_t reserve_;
  double max_pressure_;
};

}  // namespace tcpmax::probe

#include "probe/memory_guard.h"

#include <algorithm>

#include "sys/file_nr.h"
#include "sys/meminfo.h"
#include "sys/pressure.h"
#include "sys/slabinfo.h"

namespace tcpmax::probe {

uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now, uint64_t pinned_per_file) {
  uint64_t grew = now.reclaimable > start.reclaimable ? now.reclaimable - start.reclaimable : 0;
  uint64_t files = now.files > start.files ? now.files - start.files : 0;
  uint64_t pinned = std::min(grew, files * pinned_per_file);
  return now.available > pinned ? now.available - pinned : 0;
}

uint64_t PinnedBytesPerFile(const sys::Reader& reader) {
  constexpr uint64_t kFallback = 863 + 196;
  auto slabs = sys::ReadSlabinfo(reader);
  if (!slabs) return kFallback;
  auto inode = slabs->find("sock_inode_cache");
  auto dentry = slabs->find("dentry");
  if (inode == slabs->end() || dentry == slabs->end()) return kFallback;
  return static_cast<uint64_t>(inode->second.footprint() + dentry->second.footprint());
}

Result<MemoryReading> ReadMemory(const sys::Reader& r) {
  auto mi = sys::ReadMeminfo(r);
  if (!mi) return tl::unexpected(mi.error());
  MemoryReading m;
  auto available = mi->mem_available();
  if (!available) return PlainError("/proc/meminfo has no MemAvailable");
  m.available = *available;
  m.slab = mi->Get("Slab").value_or(0);
  m.reclaimable = mi->Get("SReclaimable").value_or(0);
  if (auto nr = sys::ReadFileNr(r)) m.files = nr->allocated;
  return m;
}

Result<MemoryGuard> MemoryGuard::Start(const sys::Reader& reader, uint64_t reserve_bytes, double max_pressure) {
  auto base = ReadMemory(reader);
  if (!base) return tl::unexpected(base.error());
  return MemoryGuard(reader, *base, PinnedBytesPerFile(reader), reserve_bytes, max_pressure);
}

Result<MemoryGuard::Check> MemoryGuard::Read() const {
  auto now = ReadMemory(*reader_);
  if (!now) return tl::unexpected(now.error());
  Check c;
  c.reading = *now;
  c.usable = UsableMemory(base_, *now, pinned_per_file_);
  if (auto p = sys::ReadPressure(*reader_, "memory")) c.pressure = p->some_avg10;
  c.tripped = c.usable < reserve_ || (c.pressure && *c.pressure >= max_pressure_);
  return c;
}

}  // namespace tcpmax::probe

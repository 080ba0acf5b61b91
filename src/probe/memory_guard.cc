#include "probe/memory_guard.h"

#include <algorithm>

#include "sys/file_nr.h"
#include "sys/meminfo.h"
#include "sys/slabinfo.h"
#include "sys/pressure.h"

namespace tcpmax::probe {

uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now) {
  return now.free + now.file_pages + std::min(start.reclaimable, now.reclaimable);
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
  auto free = mi->Get("MemFree");
  if (!free) return PlainError("/proc/meminfo has no MemFree");
  m.free = *free;
  m.file_pages = mi->Get("Active(file)").value_or(0) + mi->Get("Inactive(file)").value_or(0);
  if (auto nr = sys::ReadFileNr(r)) m.files = nr->allocated;
  if (auto slab = sys::ReadSlabinfo(r)) m.socket_slab = sys::SocketSlabBytes(*slab);
  return m;
}

Result<MemoryGuard> MemoryGuard::Start(const sys::Reader& reader, uint64_t reserve_bytes, double max_pressure) {
  auto base = ReadMemory(reader);
  if (!base) return tl::unexpected(base.error());
  return MemoryGuard(reader, *base, reserve_bytes, max_pressure);
}

Result<MemoryGuard::Check> MemoryGuard::Read() const {
  auto now = ReadMemory(*reader_);
  if (!now) return tl::unexpected(now.error());
  Check c;
  c.reading = *now;
  c.usable = UsableMemory(base_, *now);
  if (auto p = sys::ReadPressure(*reader_, "memory")) c.pressure = p->full_avg10;
  c.tripped = c.usable < reserve_ || (c.pressure && *c.pressure >= max_pressure_);
  return c;
}

}  // namespace tcpmax::probe

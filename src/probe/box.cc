#include "probe/box.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "sys/meminfo.h"
#include "sys/sysctl.h"

namespace tcpmax::probe {
namespace {

constexpr uint64_t kMinReserve = 512ull << 20;  // never plan to leave less than 512 MiB

// "0-1" or "0-3,5": the number of CPUs listed.
unsigned CountCpuList(std::string_view list) {
  unsigned n = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view part = list.substr(0, comma);
    size_t dash = part.find('-');
    unsigned lo = 0, hi = 0;
    std::from_chars(part.data(), part.data() + part.size(), lo);
    hi = lo;
    if (dash != std::string_view::npos) std::from_chars(part.data() + dash + 1, part.data() + part.size(), hi);
    n += hi >= lo ? hi - lo + 1 : 0;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return n;
}

}  // namespace

Result<BoxFacts> ReadBoxFacts(const sys::Reader& r) {
  BoxFacts b;
  if (auto lim = r.GetRlimit(sys::RlimitKind::kNofile)) b.nofile_hard = lim->hard;
  if (auto range = sys::ReadSysctlNumbers(r, "net.ipv4.ip_local_port_range"); range && range->size() == 2) {
    b.ephemeral_ports = static_cast<uint32_t>((*range)[1] - (*range)[0] + 1);
  }
  b.cores = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  if (auto cpus = r.ReadFile("/sys/devices/system/cpu/online")) {
    if (unsigned n = CountCpuList(sys::Trim(*cpus)); n > 0) b.cores = n;
  }
  auto mi = sys::ReadMeminfo(r);
  if (!mi) return tl::unexpected(mi.error());
  b.mem_total = mi->mem_total().value_or(0);
  b.mem_available = mi->mem_available().value_or(0);
  if (auto rel = r.ReadFile("/proc/sys/kernel/osrelease")) b.kernel = std::string(sys::Trim(*rel));
  return b;
}

uint64_t ReserveBytes(const BoxFacts& box, double reserve_percent, uint64_t reserve_bytes) {
  if (reserve_bytes > 0) return std::max<uint64_t>(kMinReserve, reserve_bytes);
  return std::max<uint64_t>(kMinReserve, static_cast<uint64_t>(double(box.mem_total) * reserve_percent / 100));
}

uint64_t MaxModeTarget(const BoxFacts& box, double reserve_percent, double bytes_per_conn, uint64_t reserve_bytes) {
  uint64_t reserve = ReserveBytes(box, reserve_percent, reserve_bytes);
  if (box.mem_available <= reserve || bytes_per_conn <= 0) return 0;
  return static_cast<uint64_t>(double(box.mem_available - reserve) / bytes_per_conn * 1.25);
}

}  // namespace tcpmax::probe

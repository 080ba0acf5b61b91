// /proc/meminfo: how much memory the box has and how much it can still give.
//
// MemAvailable is the kernel's estimate of memory available for new work
// without swapping (it counts reclaimable cache); it is what a growing number
// of sockets can take before the box is in trouble.
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct Meminfo {
  std::map<std::string, uint64_t, std::less<>> bytes;  // every field, "kB" converted to bytes

  // The named field in bytes ("MemAvailable", "MemTotal", "Slab", ...).
  std::optional<uint64_t> Get(std::string_view field) const;
  std::optional<uint64_t> mem_total() const { return Get("MemTotal"); }
  std::optional<uint64_t> mem_available() const { return Get("MemAvailable"); }
};

// Parses the text of /proc/meminfo ("MemAvailable:   24417176 kB").
Result<Meminfo> ParseMeminfo(std::string_view text);
Result<Meminfo> ReadMeminfo(const Reader& reader);

}  // namespace tcpmax::sys

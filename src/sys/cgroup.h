// The memory and pids limits of this process's control groups (v1 and v2).
//
// /proc/self/cgroup names the groups; the limits live under /sys/fs/cgroup:
//   v2: <root>/<path>/memory.max, memory.current, pids.max, pids.current
//       (<root> is /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid boxes)
//   v1: /sys/fs/cgroup/memory/<path>/memory.limit_in_bytes, memory.usage_in_bytes,
//       /sys/fs/cgroup/pids/<path>/pids.max
// A limit applies from every ancestor too, so the tightest one on the path
// wins. Kernel socket memory (slab objects, buffers) is charged to the memory
// cgroup, so a container's memory.max bounds how many connections it holds.
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct CgroupLimits {
  int version = 0;                          // 1 or 2: where the memory limit was read
  std::string path;                         // the group, as /proc/self/cgroup names it
  std::optional<uint64_t> memory_max;       // bytes; nullopt = no limit ("max")
  std::optional<uint64_t> memory_current;   // bytes charged now
  std::optional<uint64_t> pids_max;         // nullopt = no limit
  std::optional<uint64_t> pids_current;
};

// v1 reports "no limit" as a huge page-aligned number; values at or above this
// are treated as no limit.
inline constexpr uint64_t kCgroupV1Unlimited = uint64_t(1) << 62;

Result<CgroupLimits> ReadCgroupLimits(const Reader& reader);

// The groups a /proc/PID/cgroup file names: the unified (v2) path and the v1
// memory and pids paths. Paths that are not absolute or hold ".." are ignored.
struct CgroupPaths {
  std::string v2, memory_v1, pids_v1;
  bool has_v2 = false, has_memory_v1 = false, has_pids_v1 = false;
};
CgroupPaths ParseProcCgroup(std::string_view text);

}  // namespace tcpmax::sys

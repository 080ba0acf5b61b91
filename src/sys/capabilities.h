// Capabilities of this process, and the few that decide limits.
//
// A capability set is a bit mask, bit N = capability N (linux/capability.h).
// CAP_SYS_RESOURCE lets a process raise its hard RLIMIT_NOFILE (up to
// fs.nr_open); CAP_SYS_ADMIN lets it open files past fs.file-max (the kernel's
// alloc_empty_file() checks capable(CAP_SYS_ADMIN) before failing with ENFILE).
// Thread-safety: pure functions, plus one syscall.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace tcpmax::sys {

inline constexpr int kCapNetAdmin = 12;
inline constexpr int kCapNetRaw = 13;
inline constexpr int kCapSysAdmin = 21;
inline constexpr int kCapSysResource = 24;

// The effective set of the calling process (capget(2), version 3: 64 bits).
Result<uint64_t> ProcessCapabilities();

inline bool HasCapability(uint64_t effective, int cap) { return (effective >> cap) & 1; }

// "000001fffeffffff" <-> mask, the format of CapEff in /proc/<pid>/status.
std::string FormatCapabilities(uint64_t mask);
Result<uint64_t> ParseCapabilities(std::string_view hex);

}  // namespace tcpmax::sys

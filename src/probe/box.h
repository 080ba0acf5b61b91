// BoxFacts: what the probe needs to know about this box before it plans, and
// the memory arithmetic of a climb (the reserve, the --max target).
// Read through a sys::Reader, so tests replay recorded boxes.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::probe {

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

// The usable-memory floor of a climb: `reserve_bytes` when given (--reserve
// 1GiB), else `reserve_percent` of MemTotal; at least 512 MiB.
uint64_t ReserveBytes(const BoxFacts& box, double reserve_percent, uint64_t reserve_bytes = 0);

// The target --max climbs towards: what MemAvailable above the reserve holds
// at `bytes_per_conn`, 25% beyond, so the plan has enough ports and
// processes (the climb stops at the reserve anyway).
uint64_t MaxModeTarget(const BoxFacts& box, double reserve_percent, double bytes_per_conn, uint64_t reserve_bytes = 0);

}  // namespace tcpmax::probe

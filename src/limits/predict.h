// Predict: the one call `probe` (and anyone else) makes to get the model's
// answer for this box: read the Snapshot through a Reader, compute the
// Ceiling, and pick out the numbers a measurement is compared with.
// Thread-safety: pure apart from the Reader's reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "limits/ceiling.h"
#include "sys/reader.h"

namespace tcpmax::limits {

struct Prediction {
  std::optional<uint64_t> inbound_ceiling;   // with the scenario's processes
  std::string inbound_binding;               // Finding::id, e.g. "rlimit_nofile_hard"
  std::string inbound_binding_name;          // Finding::limit, e.g. "RLIMIT_NOFILE (hard)"
  std::optional<uint64_t> per_process_ceiling;
  std::optional<uint64_t> box_ceiling;       // min over user and box limits: what enough processes reach
  std::string box_binding_name;
  uint64_t kernel_bytes_per_end = 0;         // slab bytes of one connection end
  uint64_t bytes_per_connection = 0;         // on this box (both ends with Scenario::loopback)
  Ceiling ceiling;                           // everything else
};

Prediction Predict(const sys::Reader& reader, const Scenario& scenario);
// The same from a Snapshot already read (and maybe changed by ApplySetting).
Prediction Predict(const Snapshot& snapshot, const Scenario& scenario);

}  // namespace tcpmax::limits

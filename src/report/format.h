// Small text helpers shared by the renderers in src/report.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tcpmax::report {

// "28,232", or "unknown" when the value is missing.
std::string CountOrUnknown(std::optional<uint64_t> v);

}  // namespace tcpmax::report

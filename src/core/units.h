// Numbers with units, as users type them and as tcpmax prints them.
//
//   counts:    "20000", "10k" (10,000), "2M" (2,000,000), "1.5M", "3G"
//   durations: "30s", "500ms", "2m", "1h", "250us", "10" (seconds)
//   bytes:     "64", "4K"/"4KiB" (4096), "1M"/"1MiB", "2G"; "kB"/"MB" are decimal
//   rates:     "50k/s", "1000" (per second)
//   percents:  "10%", "10" (both 10.0)
// Parsers return an Error whose context names the text and what was expected.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace tcpmax {

Result<uint64_t> ParseCount(std::string_view text);
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);
Result<uint64_t> ParseBytes(std::string_view text);
Result<double> ParseRate(std::string_view text);
Result<double> ParsePercent(std::string_view text);

// 1234567 -> "1,234,567"
std::string FormatCount(uint64_t n);
// 1536 -> "1.5 KiB"; 512 -> "512 B"
std::string FormatBytes(double bytes);
// 1.5e9 ns -> "1.50 s"; 2500 ns -> "2.50 us"
std::string FormatDuration(std::chrono::nanoseconds d);
// 1234567 -> "1.23M"; 20000 -> "20.0k"; 999 -> "999"
std::string FormatShort(double n);

}  // namespace tcpmax

// Monotonic time for rates, timeouts and sampling. Thread-safe.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace tcpmax {

// Nanoseconds on CLOCK_MONOTONIC.
inline uint64_t MonotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline double SecondsSince(uint64_t start_ns) {
  return static_cast<double>(MonotonicNanos() - start_ns) / 1e9;
}

}  // namespace tcpmax

#include "serve/stats.h"

#include <unistd.h>

#include <cstdio>

namespace tcpmax::serve {

void ServeCounters::AddTo(ServeSnapshot* out) const {
  out->accepted += accepted.Get();
  out->closed += closed.Get();
  out->resets += resets.Get();
  out->rejected += rejected.Get();
  out->rings += rings.Get();
  out->table_full += table_full.Get();
  for (int i = 0; i < kErrnoSlots; ++i) {
    if (uint64_t n = errors_[i].Get(); n != 0) out->errors.Add(i, n);
  }
}

uint64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "re");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace tcpmax::serve

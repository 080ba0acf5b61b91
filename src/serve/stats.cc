#include "serve/stats.h"

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

}  // namespace tcpmax::serve

#include "serve/stats.h"

namespace tcpmax::serve {

void ServeCounters::AddTo(ServeSnapshot* out) const {
  out->accepted += accepted.Get();
  out->closed += closed.Get();
  out->resets += resets.Get();
  out->rejected += rejected.Get();
  out->rings += rings.Get();
  out->table_full += table_full.Get();
  out->session.tls_done += tls_done.Get();
  out->session.tls_failed += tls_failed.Get();
  out->session.tls_parked += tls_parked.Get();
  out->session.ws_upgrades += ws_upgrades.Get();
  out->session.ws_refused += ws_refused.Get();
  out->session.ws_messages += ws_messages.Get();
  out->session.ws_bad_frames += ws_bad_frames.Get();
  for (int i = 0; i < kErrnoSlots; ++i) {
    if (uint64_t n = errors_[i].Get(); n != 0) out->errors.Add(i, n);
  }
}

}  // namespace tcpmax::serve

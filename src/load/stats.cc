#include "load/stats.h"

#include <algorithm>

namespace tcpmax::load {

void LoadStats::Merge(const LoadStats& o) {
  target += o.target;
  attempted += o.attempted;
  opened += o.opened;
  failed += o.failed;
  closed += o.closed;
  inflight += o.inflight;
  pings_sent += o.pings_sent;
  pongs += o.pongs;
  pongs_bad += o.pongs_bad;
  rss_bytes += o.rss_bytes;
  rss_start_bytes += o.rss_start_bytes;
  anon_bytes += o.anon_bytes;
  anon_start_bytes += o.anon_start_bytes;
  t = std::max(t, o.t);
  ramp_seconds = std::max(ramp_seconds, o.ramp_seconds);
  errors.Merge(o.errors);
  connect_ns.Merge(o.connect_ns);
  rtt_ns.Merge(o.rtt_ns);
  closed_after_ns.Merge(o.closed_after_ns);
}

sys::ShardReport ToShardReport(const LoadStats& s, sys::ShardKind kind) {
  sys::ShardReport r;
  r.kind = kind;
  r.t = s.t;
  r.target = s.target;
  r.attempted = s.attempted;
  r.opened = s.opened;
  r.failed = s.failed;
  r.closed = s.closed;
  r.inflight = s.inflight;
  r.held = s.held();
  r.pings_sent = s.pings_sent;
  r.pongs = s.pongs;
  r.pongs_bad = s.pongs_bad;
  r.rss_bytes = s.rss_bytes;
  r.rss_start_bytes = s.rss_start_bytes;
  r.anon_bytes = s.anon_bytes;
  r.anon_start_bytes = s.anon_start_bytes;
  r.ramp_seconds = s.ramp_seconds;
  r.errors = s.errors.ByErrno();
  if (kind == sys::ShardKind::kFinal) {
    r.connect_ns = s.connect_ns;
    r.rtt_ns = s.rtt_ns;
    r.closed_after_ns = s.closed_after_ns;
  }
  return r;
}

LoadStats FromShardReport(const sys::ShardReport& r) {
  LoadStats s;
  s.t = r.t;
  s.target = r.target;
  s.attempted = r.attempted;
  s.opened = r.opened;
  s.failed = r.failed;
  s.closed = r.closed;
  s.inflight = r.inflight;
  s.pings_sent = r.pings_sent;
  s.pongs = r.pongs;
  s.pongs_bad = r.pongs_bad;
  s.rss_bytes = r.rss_bytes;
  s.rss_start_bytes = r.rss_start_bytes;
  s.anon_bytes = r.anon_bytes;
  s.anon_start_bytes = r.anon_start_bytes;
  s.ramp_seconds = r.ramp_seconds;
  for (const auto& [code, n] : r.errors) s.errors.Add(code, n);
  if (r.connect_ns) s.connect_ns = *r.connect_ns;
  if (r.rtt_ns) s.rtt_ns = *r.rtt_ns;
  if (r.closed_after_ns) s.closed_after_ns = *r.closed_after_ns;
  return s;
}

}  // namespace tcpmax::load

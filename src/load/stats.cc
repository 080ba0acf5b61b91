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
  session.Merge(o.session);
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
  const SessionStats& ss = s.session;
  if (ss.ready + ss.pending + ss.tls_done + ss.messages_sent + ss.errors.Total() + ss.bytes_sent > 0) {
    sys::ShardSession& o = r.session.emplace();
    o.ready = ss.ready;
    o.pending = ss.pending;
    o.tls_done = ss.tls_done;
    o.tls_resumed = ss.tls_resumed;
    o.tls_parked = ss.tls_parked;
    o.messages_sent = ss.messages_sent;
    o.messages_received = ss.messages_received;
    o.echo_ok = ss.echo_ok;
    o.reopened = ss.reopened;
    o.closes_sent = ss.closes_sent;
    o.closes_answered = ss.closes_answered;
    o.bytes_sent = ss.bytes_sent;
    o.bytes_received = ss.bytes_received;
    for (int i = 0; i < 5; ++i) o.http_status[i] = ss.http_status[i];
    for (const auto& [e, n] : ss.errors.Sorted()) o.errors.emplace_back(static_cast<int>(e), n);
    if (kind == sys::ShardKind::kFinal) {
      o.tls_ns = ss.tls_ns;
      o.ready_ns = ss.ready_ns;
      o.message_rtt_ns = ss.message_rtt_ns;
    }
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
  if (r.session) {
    const sys::ShardSession& o = *r.session;
    SessionStats& ss = s.session;
    ss.ready = o.ready;
    ss.pending = o.pending;
    ss.tls_done = o.tls_done;
    ss.tls_resumed = o.tls_resumed;
    ss.tls_parked = o.tls_parked;
    ss.messages_sent = o.messages_sent;
    ss.messages_received = o.messages_received;
    ss.echo_ok = o.echo_ok;
    ss.reopened = o.reopened;
    ss.closes_sent = o.closes_sent;
    ss.closes_answered = o.closes_answered;
    ss.bytes_sent = o.bytes_sent;
    ss.bytes_received = o.bytes_received;
    for (int i = 0; i < 5; ++i) ss.http_status[i] = o.http_status[i];
    for (const auto& [e, n] : o.errors) {
      if (e >= 0 && e < proto::kProtoErrorCount) ss.errors.Add(static_cast<proto::ProtoError>(e), n);
    }
    if (o.tls_ns) ss.tls_ns = *o.tls_ns;
    if (o.ready_ns) ss.ready_ns = *o.ready_ns;
    if (o.message_rtt_ns) ss.message_rtt_ns = *o.message_rtt_ns;
  }
  if (r.closed_after_ns) s.closed_after_ns = *r.closed_after_ns;
  return s;
}

}  // namespace tcpmax::load

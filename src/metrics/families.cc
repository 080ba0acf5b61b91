#include "metrics/families.h"

#include "diag/tcp_state.h"
#include "limits/errno_class.h"

namespace tcpmax::metrics {
namespace {

using Samples = std::vector<std::pair<Labels, double>>;

Samples ErrorSamples(const limits::ErrorCounts& errors) {
  Samples out;
  for (const auto& [key, n] : errors.ByKey()) out.push_back({{{"class", key}}, static_cast<double>(n)});
  return out;
}

double D(uint64_t v) { return static_cast<double>(v); }

}  // namespace

std::string LoadMetrics(const load::LoadStats& s, double rate, const Labels& labels) {
  Exposition e(labels);
  e.Gauge("tcpmax_load_target", "Connections this load must attempt.", D(s.target));
  e.Counter("tcpmax_load_attempted_total", "Connection attempts made (socket calls).", D(s.attempted));
  e.Counter("tcpmax_load_opened_total", "Connects that succeeded.", D(s.opened));
  e.Counter("tcpmax_load_failed_total", "Attempts that failed (socket, bind, connect, timeout).", D(s.failed));
  e.Counter("tcpmax_load_closed_total", "Established connections later closed by the peer or an error.",
            D(s.closed));
  e.Gauge("tcpmax_load_held", "Connections held now (opened minus closed).", D(s.held()));
  e.Gauge("tcpmax_load_inflight", "Connects not yet answered.", D(s.inflight));
  e.Gauge("tcpmax_load_open_rate", "Connections opened per second over the last interval.", rate);
  e.Counter("tcpmax_load_errors_total", "Failures by errno class (tcpmax limits names their meaning).",
            ErrorSamples(s.errors));
  e.HistogramSeconds("tcpmax_load_connect_seconds", "Time from connect() to established.", s.connect_ns);
  e.HistogramSeconds("tcpmax_load_rtt_seconds", "Round trip of the --ping probe.", s.rtt_ns);
  e.HistogramSeconds("tcpmax_load_closed_after_seconds", "Time from established to closed by the peer.",
                     s.closed_after_ns);
  e.Gauge("tcpmax_load_rss_bytes", "Resident memory of the load processes.", D(s.rss_bytes));
  return e.Text();
}

std::string ServeMetrics(const serve::ServeProgress& p) {
  const serve::ServeSnapshot& s = p.snapshot;
  Exposition e;
  e.Counter("tcpmax_serve_accepted_total", "Connections accepted.", D(s.accepted));
  e.Counter("tcpmax_serve_closed_total", "Connections that ended (peer FIN/RST, or rejected).", D(s.closed));
  e.Counter("tcpmax_serve_resets_total", "Connections ended by the peer's RST.", D(s.resets));
  e.Counter("tcpmax_serve_rejected_total", "Connections closed at once because --max-conns was reached.",
            D(s.rejected));
  e.Gauge("tcpmax_serve_held", "Connections held now.", D(s.held()));
  e.Gauge("tcpmax_serve_accept_rate", "Connections accepted per second over the last interval.", p.accept_rate);
  e.Counter("tcpmax_serve_errors_total", "Accept and I/O failures by errno class.", ErrorSamples(s.errors));
  e.Gauge("tcpmax_serve_rss_bytes", "Resident memory of the server.", D(p.rss_bytes));
  return e.Text();
}

std::string CountMetrics(const diag::Counts& c) {
  Exposition e;
  Samples states;
  for (int st = 1; st <= diag::kMaxTcpState; ++st) {
    std::string_view name = diag::TcpStateName(st);
    if (!name.empty() && name != "new-syn-recv") states.push_back({{{"state", std::string(name)}}, D(c.states[st])});
  }
  e.Gauge("tcpmax_count_connections", "TCP sockets matching the query, by state.", states);
  e.Gauge("tcpmax_count_total", "TCP sockets matching the query.", D(c.total));
  e.Gauge("tcpmax_count_family", "TCP sockets matching the query, by address family.",
          Samples{{{{"family", "ipv4"}}, D(c.ipv4)}, {{{"family", "ipv6"}}, D(c.ipv6)}});
  return e.Text();
}

std::string ProbeMetrics(const probe::Sample& s) {
  Exposition e;
  e.Gauge("tcpmax_probe_held", "Connections held (the smaller of the two sides' counts).", D(s.established));
  e.Counter("tcpmax_probe_opened_total", "Connections the load opened so far.", D(s.opened));
  e.Counter("tcpmax_probe_failed_total", "Connect attempts that failed.", D(s.failed));
  e.Gauge("tcpmax_probe_open_rate", "New connections per second over the last second.", s.rate);
  e.Gauge("tcpmax_probe_kernel_bytes", "Memory the kernel used for the climb so far.", static_cast<double>(s.kernel));
  e.Gauge("tcpmax_probe_memory_used_bytes", "MemAvailable at start minus now.", static_cast<double>(s.mem_used));
  return e.Text();
}

}  // namespace tcpmax::metrics

#include "report/dist.h"

#include <chrono>

#include <fmt/format.h>

#include "core/units.h"
#include "dist/rank_result.h"
#include "report/svg_chart.h"

namespace tcpmax::report {
namespace {

std::string Ns(uint64_t ns) { return FormatDuration(std::chrono::nanoseconds(ns)); }

std::string Latency(const Histogram& h) {
  if (h.count() == 0) return "none";
  return fmt::format("p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} samples)", Ns(h.Quantile(0.5)),
                     Ns(h.Quantile(0.9)), Ns(h.Quantile(0.99)), Ns(h.Quantile(0.999)), Ns(h.max()),
                     FormatCount(h.count()));
}

nlohmann::json LatencyJson(const Histogram& h) {
  return {{"count", h.count()},         {"min_ns", h.min()},           {"p50_ns", h.Quantile(0.5)},
          {"p90_ns", h.Quantile(0.9)},  {"p99_ns", h.Quantile(0.99)},  {"p999_ns", h.Quantile(0.999)},
          {"max_ns", h.max()},          {"mean_ns", h.mean()},         {"histogram", dist::HistogramToJson(h)}};
}

std::string Errors(const std::map<std::string, uint64_t>& errors) {
  std::string out;
  for (const auto& [key, n] : errors) {
    if (n == 0) continue;
    out += fmt::format("{}{} x {}", out.empty() ? "" : ", ", key, FormatCount(n));
  }
  return out.empty() ? "none" : out;
}

std::string Missing(const dist::MergedRun& m) {
  std::string out;
  for (int r : m.missing) out += fmt::format("{}{}", out.empty() ? "" : ", ", r);
  return out;
}

}  // namespace

std::string RankSliceText(const dist::RankInfo& rank, const dist::Share& s) {
  std::string targets;
  for (size_t i = 0; i < s.targets.size() && i < 4; ++i) targets += fmt::format("{}{}", i ? "," : "", s.targets[i].ToString());
  if (s.targets.size() > 4) targets += ",...";
  std::string sources = fmt::format("{}source addresses #{}..#{} of {}", s.sources_shared ? "" : "this machine's ",
                                    s.sources.first, s.sources.first + s.sources.count - 1,
                                    FormatCount(s.source_total));
  uint64_t last = s.first_connection + s.connections - (s.connections > 0 ? 1 : 0);
  return fmt::format("rank {} of {} ({}): connections #{}..#{} ({} of {}); {}; {} target{}: {}\n", rank.rank,
                     rank.size, rank.launcher, s.first_connection, last, FormatCount(s.connections),
                     FormatCount(s.total_connections), sources, s.targets.size(), s.targets.size() == 1 ? "" : "s",
                     targets);
}

std::string MergeText(const dist::MergedRun& m) {
  const dist::RankTotals& t = m.totals;
  std::string out = fmt::format("run {}: {} of {} ranks merged", m.run_id, m.ranks.size(), m.size);
  if (!m.missing.empty()) out += fmt::format(" (missing: {})", Missing(m));
  out += "\n";
  out += fmt::format("  target {}  attempted {}  opened {}  held {}  failed {}  closed by peer {}\n",
                     FormatCount(t.target), FormatCount(t.attempted), FormatCount(t.opened), FormatCount(t.held),
                     FormatCount(t.failed), FormatCount(t.closed));
  out += fmt::format("  errors    {}\n", Errors(t.errors));
  out += fmt::format("  connect   {}\n", Latency(t.connect_ns));
  if (t.rtt_ns.count() > 0) out += fmt::format("  rtt       {}\n", Latency(t.rtt_ns));
  if (t.closed_after_ns.count() > 0) out += fmt::format("  closed after {}\n", Latency(t.closed_after_ns));
  if (t.session) {
    const dist::RankSession& s = *t.session;
    out += fmt::format("  session   {} ready; tls {} handshakes ({} resumed, {} parked); {} reopened\n",
                       FormatCount(s.ready), FormatCount(s.tls_done), FormatCount(s.tls_resumed),
                       FormatCount(s.tls_parked), FormatCount(s.reopened));
    out += fmt::format("  messages  sent {}, answered {}, echoes intact {}\n", FormatCount(s.messages_sent),
                       FormatCount(s.messages_received), FormatCount(s.echo_ok));
    if (s.message_rtt_ns.count() > 0) out += fmt::format("  msg rtt   {}\n", Latency(s.message_rtt_ns));
    if (s.tls_ns.count() > 0) out += fmt::format("  tls       {}\n", Latency(s.tls_ns));
    out += fmt::format("  session errors {}\n", Errors(s.errors));
  }
  out += fmt::format("  start skew {:.3f} s; ramp min {:.2f} s, median {:.2f} s, max {:.2f} s\n",
                     m.start_skew_seconds, m.ramp_min, m.ramp_median, m.ramp_max);
  for (const dist::Straggler& s : m.stragglers) out += fmt::format("  straggler: rank {}: {}\n", s.rank, s.why);
  out += "  rank  host              opened     failed  ramp s   start +s\n";
  double first = m.ranks.front().start_unix;
  for (const dist::RankResult& r : m.ranks) first = std::min(first, r.start_unix);
  for (const dist::RankResult& r : m.ranks) {
    out += fmt::format("  {:>4}  {:<16} {:>9} {:>10} {:>7.2f} {:>10.3f}\n", r.rank, r.host.substr(0, 16),
                       FormatCount(r.totals.opened), FormatCount(r.totals.failed), r.ramp_seconds,
                       r.start_unix - first);
  }
  return out;
}

namespace {

nlohmann::json MergedSessionJson(const dist::RankSession& s) {
  return {{"ready", s.ready},
          {"tls_handshakes", s.tls_done},
          {"tls_resumed", s.tls_resumed},
          {"tls_parked", s.tls_parked},
          {"messages_sent", s.messages_sent},
          {"messages_received", s.messages_received},
          {"echo_ok", s.echo_ok},
          {"reopened", s.reopened},
          {"closes_sent", s.closes_sent},
          {"closes_answered", s.closes_answered},
          {"bytes_sent", s.bytes_sent},
          {"bytes_received", s.bytes_received},
          {"http_status", {{"1xx", s.http_status[0]}, {"2xx", s.http_status[1]}, {"3xx", s.http_status[2]},
                           {"4xx", s.http_status[3]}, {"5xx", s.http_status[4]}}},
          {"errors", s.errors},
          {"tls_time", LatencyJson(s.tls_ns)},
          {"ready_time", LatencyJson(s.ready_ns)},
          {"message_rtt", LatencyJson(s.message_rtt_ns)}};
}

}  // namespace

nlohmann::json MergeJson(const dist::MergedRun& m) {
  const dist::RankTotals& t = m.totals;
  nlohmann::json ranks = nlohmann::json::array();
  for (const dist::RankResult& r : m.ranks) {
    ranks.push_back({{"rank", r.rank},
                     {"host", r.host},
                     {"netns", r.netns},
                     {"connections", r.connections},
                     {"opened", r.totals.opened},
                     {"failed", r.totals.failed},
                     {"held", r.totals.held},
                     {"start_unix", r.start_unix},
                     {"start_late_ns", r.start_late_ns},
                     {"clock_offset_ns", r.clock_offset_ns ? nlohmann::json(*r.clock_offset_ns) : nlohmann::json()},
                     {"ramp_seconds", r.ramp_seconds},
                     {"connect_p99_ns", r.totals.connect_ns.Quantile(0.99)}});
  }
  nlohmann::json stragglers = nlohmann::json::array();
  for (const dist::Straggler& s : m.stragglers) stragglers.push_back({{"rank", s.rank}, {"why", s.why}});
  return {{"schema", "tcpmax.merge/1"},
          {"run_id", m.run_id},
          {"size", m.size},
          {"ranks_merged", m.ranks.size()},
          {"missing_ranks", m.missing},
          {"target", t.target},
          {"attempted", t.attempted},
          {"opened", t.opened},
          {"held", t.held},
          {"failed", t.failed},
          {"closed", t.closed},
          {"pings_sent", t.pings_sent},
          {"pongs", t.pongs},
          {"pongs_bad", t.pongs_bad},
          {"errors", t.errors},
          {"connect_time", LatencyJson(t.connect_ns)},
          {"rtt", LatencyJson(t.rtt_ns)},
          {"closed_after", LatencyJson(t.closed_after_ns)},
          {"session", t.session ? MergedSessionJson(*t.session) : nlohmann::json()},
          {"start_skew_seconds", m.start_skew_seconds},
          {"ramp_seconds", {{"min", m.ramp_min}, {"median", m.ramp_median}, {"max", m.ramp_max}}},
          {"stragglers", stragglers},
          {"ranks", ranks}};
}

std::string MergeHtml(const dist::MergedRun& m) {
  const dist::RankTotals& t = m.totals;
  std::string rows;
  double first = m.ranks.front().start_unix;
  for (const dist::RankResult& r : m.ranks) first = std::min(first, r.start_unix);
  for (const dist::RankResult& r : m.ranks) {
    bool straggler = false;
    for (const dist::Straggler& s : m.stragglers) straggler = straggler || s.rank == r.rank;
    rows += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2f}</td><td>{:.3f}</td><td>{}</td></tr>\n",
        straggler ? " class=\"straggler\"" : "", r.rank, XmlEscape(r.host), FormatCount(r.totals.opened),
        FormatCount(r.totals.held), FormatCount(r.totals.failed), r.ramp_seconds, r.start_unix - first,
        XmlEscape(Ns(r.totals.connect_ns.Quantile(0.99))));
  }
  std::string stragglers;
  for (const dist::Straggler& s : m.stragglers) {
    stragglers += fmt::format("<li>rank {}: {}</li>\n", s.rank, XmlEscape(s.why));
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>tcpmax merge: {id}</title>\n"
      "<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}"
      "td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}tr.straggler{{background:#fdd}}</style>"
      "</head><body>\n<h1>Run {id}</h1>\n<p>{merged} of {size} ranks merged{missing}.</p>\n"
      "<table><tr><th>target</th><th>opened</th><th>held</th><th>failed</th><th>errors</th></tr>\n"
      "<tr><td>{target}</td><td id=\"opened\">{opened}</td><td>{held}</td><td>{failed}</td><td>{errors}</td></tr>"
      "</table>\n<h2>Connect time</h2>\n<p>{connect}</p>\n<h2>Skew and stragglers</h2>\n"
      "<p>start skew {skew:.3f} s; ramp min {rmin:.2f} s, median {rmed:.2f} s, max {rmax:.2f} s</p>\n<ul>{strag}</ul>\n"
      "<h2>Ranks</h2>\n<table><tr><th>rank</th><th>host</th><th>opened</th><th>held</th><th>failed</th>"
      "<th>ramp s</th><th>start +s</th><th>connect p99</th></tr>\n{rows}</table>\n</body></html>\n",
      fmt::arg("id", XmlEscape(m.run_id)), fmt::arg("merged", m.ranks.size()), fmt::arg("size", m.size),
      fmt::arg("missing", m.missing.empty() ? std::string() : fmt::format(" (missing: {})", Missing(m))),
      fmt::arg("target", FormatCount(t.target)), fmt::arg("opened", FormatCount(t.opened)),
      fmt::arg("held", FormatCount(t.held)), fmt::arg("failed", FormatCount(t.failed)),
      fmt::arg("errors", XmlEscape(Errors(t.errors))), fmt::arg("connect", XmlEscape(Latency(t.connect_ns))),
      fmt::arg("skew", m.start_skew_seconds), fmt::arg("rmin", m.ramp_min), fmt::arg("rmed", m.ramp_median),
      fmt::arg("rmax", m.ramp_max), fmt::arg("strag", stragglers), fmt::arg("rows", rows));
}

}  // namespace tcpmax::report

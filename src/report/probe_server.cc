#include "report/probe_server.h"

#include <fmt/format.h>

#include "core/units.h"
#include "report/svg_chart.h"
#include "sys/reader.h"

namespace tcpmax::report {
namespace {

std::string Nofile(uint64_t v) { return v == sys::kUnlimited ? "unlimited" : FormatCount(v); }

std::string PerConn(double bytes) { return bytes > 0 ? FormatBytes(bytes) : "not measured"; }

std::string Seconds(double s) { return FormatDuration(std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9))); }

void AppendFinding(std::string& out, const probe::ServerFinding& f, bool binding) {
  out += fmt::format("  {} {} [{}]{}\n", binding ? "*" : "-", f.limit, f.id,
                     f.ceiling > 0 ? fmt::format(": {} connections", FormatCount(f.ceiling)) : "");
  for (const std::string& e : f.evidence) out += fmt::format("      evidence: {}\n", e);
  if (!f.remedy.empty()) out += fmt::format("      remedy:   {}\n", f.remedy);
}

nlohmann::json FindingJson(const probe::ServerFinding& f) {
  return {{"id", f.id}, {"limit", f.limit}, {"ceiling", f.ceiling}, {"evidence", f.evidence}, {"remedy", f.remedy}};
}

}  // namespace

std::string ServerProbeToText(const probe::ServerReport& r) {
  std::string out;
  out += fmt::format("tcpmax probe --server {}: {} ({})\n", r.server, r.name.empty() ? "the server" : r.name, r.named_by);
  if (!r.command.empty()) out += fmt::format("  command: {}\n", r.command);
  if (!r.kind.name.empty()) {
    out += fmt::format("  recognised: {}{}\n", r.kind.name, r.kind.config.empty() ? "" : " (" + r.kind.config + ")");
    for (const auto& [k, v] : r.kind.settings) out += fmt::format("    {} {}\n", k, v);
  }
  out += "\nHeld by the server (accepted by its processes, verified by socket inode):\n";
  out += fmt::format("  {} held{}   target {}\n", FormatCount(r.held), r.target_reached ? " (target reached)" : "",
                     FormatCount(r.target));
  out += fmt::format("  client side: {} established; {} of them wait in the listen queue, not held by the server\n",
                     FormatCount(r.client_held), FormatCount(r.queued));
  if (r.client_only > 0) {
    out += fmt::format("  {} established for the client only: the server has no socket for them (SYN cookies while its "
                       "listen queue was full)\n", FormatCount(r.client_only));
  }
  out += fmt::format("  closed by the server: {}", FormatCount(r.closed_by_server));
  if (r.closed_by_server > 0) {
    out += fmt::format(" (after {} median, {} to {} for the middle 80%)", Seconds(r.closed_after_p50), Seconds(r.closed_after_p10),
                       Seconds(r.closed_after_p90));
  }
  out += "\n";
  out += fmt::format("  stopped: {} ({})\n", probe::StopReasonName(r.stop_reason), r.stop_detail);
  if (r.verified) {
    out += fmt::format("  verification: {}: {}\n", r.verification_ok ? "ok" : "FAILED", r.verification_detail);
  }
  out += "\nWhat stops it:\n";
  if (r.findings.empty()) out += "  nothing: the target was reached\n";
  for (size_t i = 0; i < r.findings.size(); ++i) AppendFinding(out, r.findings[i], i == 0);

  out += "\nThe server's processes:\n";
  for (const probe::ServerProcess& p : r.processes) {
    out += fmt::format("  {:>7} {:<16} nofile {}/{}  fds {} -> {}  anon {} -> {}  threads {}{}\n", p.pid, p.comm,
                       Nofile(p.nofile_soft), Nofile(p.nofile_hard), FormatCount(p.fds_start), FormatCount(p.fds_peak),
                       FormatBytes(double(p.anon_start)), FormatBytes(double(p.anon_peak)), p.threads, p.listens ? "  (listens)" : "");
  }
  out += "\nCost per connection the server holds:\n";
  out += fmt::format("  user space (its anonymous memory): {}\n",
                     r.user_fit.valid() ? FormatBytes(std::max(0.0, r.user_bytes)) : "not measured");
  out += fmt::format("  kernel: {}{}\n", PerConn(r.kernel_bytes), r.kernel_source.empty() ? "" : " (" + r.kernel_source + ")");
  if (r.cgroup_kernel_bytes > 0) {
    out += fmt::format("  kernel, charged to its memory group: {} (what accept() adds; the socket built during the "
                       "handshake is charged to no group)\n", FormatBytes(r.cgroup_kernel_bytes));
  }
  if (r.client_kernel_bytes > 0) out += fmt::format("  kernel, load side (for comparison): {}\n", PerConn(r.client_kernel_bytes));
  if (!r.projection.empty()) {
    out += fmt::format("\nProjected ceiling of this server on this box: {}\n", FormatCount(r.projected));
    for (const probe::PredictedLimit& p : r.projection) {
      out += fmt::format("  {} {:<14} {:>12}  {}\n", p.binding ? "*" : " ", p.id, FormatCount(p.ceiling), p.limit);
    }
  }
  if (!r.counters.empty()) {
    out += "\nKernel counters during the climb:";
    for (const auto& [k, v] : r.counters) out += fmt::format(" {} +{}", k.substr(k.find('.') + 1), FormatCount(v));
    out += "\n";
  }
  if (!r.errors.empty()) {
    out += "Client connect errors:";
    for (const auto& [k, v] : r.errors) out += fmt::format(" {} {}", k, FormatCount(v));
    out += "\n";
  }
  out += fmt::format("Climb: {} at {}/s mean, {}/s peak (accepted), load engine {} in {} process(es){}\n",
                     Seconds(r.climb_seconds), FormatCount(uint64_t(r.mean_rate)), FormatCount(uint64_t(r.peak_rate)), r.engine,
                     r.load_processes,
                     r.paced ? fmt::format(", paced by the server's listen queue (ended at {}/s)", FormatCount(uint64_t(r.pace_rate))) : "");
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  return out;
}

nlohmann::json ServerProbeToJson(const probe::ServerReport& r) {
  nlohmann::json j;
  j["schema"] = kProbeServerSchema;
  j["server"] = {{"address", r.server},   {"named_by", r.named_by}, {"name", r.name},
                 {"command", r.command},  {"pid", r.pid},           {"cgroup", r.cgroup},
                 {"cgroup_version", r.cgroup_version}, {"cgroup_own", r.cgroup_own}};
  j["recognised"] = {{"name", r.kind.name}, {"config", r.kind.config}, {"settings", r.kind.settings}, {"note", r.kind.note}};
  j["machine"] = {{"kernel", r.kernel}, {"cores", r.cores}, {"mem_total", r.mem_total},
                  {"mem_available_start", r.mem_available_start}, {"reserve_bytes", r.reserve_bytes}};
  j["target"] = r.target;
  j["load"] = {{"engine", r.engine}, {"processes", r.load_processes}};
  j["outcome"] = {{"held", r.held},
                  {"accepted_peak", r.accepted_peak},
                  {"client_held", r.client_held},
                  {"queued", r.queued},
                  {"close_wait", r.close_wait},
                  {"client_only", r.client_only},
                  {"client_attempted", r.client_attempted},
                  {"client_failed", r.client_failed},
                  {"client_inflight", r.client_inflight},
                  {"paced", r.paced},
                  {"pace_rate", r.pace_rate},
                  {"closed_by_server", r.closed_by_server},
                  {"closed_after_seconds", {{"p10", r.closed_after_p10}, {"p50", r.closed_after_p50}, {"p90", r.closed_after_p90}}},
                  {"target_reached", r.target_reached},
                  {"stop_reason", probe::StopReasonName(r.stop_reason)},
                  {"stop_detail", r.stop_detail},
                  {"climb_seconds", r.climb_seconds},
                  {"mean_rate", r.mean_rate},
                  {"peak_rate", r.peak_rate},
                  {"max_sample_gap_seconds", r.max_sample_gap_seconds},
                  {"guard_tripped", r.guard_tripped},
                  {"errors", r.errors},
                  {"counters", r.counters}};
  j["verification"] = {{"ran", r.verified}, {"ok", r.verification_ok}, {"owned", r.verified_owned},
                       {"accepted", r.verified_accepted}, {"detail", r.verification_detail}};
  j["binding"] = r.binding ? FindingJson(*r.binding) : nlohmann::json(nullptr);
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings) j["findings"].push_back(FindingJson(f));
  j["processes"] = nlohmann::json::array();
  for (const auto& p : r.processes) {
    j["processes"].push_back({{"pid", p.pid}, {"comm", p.comm}, {"cmdline", p.cmdline},
                              {"nofile_soft", p.nofile_soft == sys::kUnlimited ? nlohmann::json("unlimited") : nlohmann::json(p.nofile_soft)},
                              {"nofile_hard", p.nofile_hard == sys::kUnlimited ? nlohmann::json("unlimited") : nlohmann::json(p.nofile_hard)},
                              {"fds_start", p.fds_start}, {"fds_peak", p.fds_peak}, {"anon_start", p.anon_start},
                              {"anon_peak", p.anon_peak}, {"threads", p.threads}, {"listens", p.listens}});
  }
  j["cost"] = {{"user_bytes", r.user_bytes}, {"kernel_bytes", r.kernel_bytes}, {"kernel_source", r.kernel_source},
               {"client_kernel_bytes", r.client_kernel_bytes}, {"cgroup_kernel_bytes", r.cgroup_kernel_bytes},
               {"user_fit", {{"slope", r.user_fit.slope}, {"r2", r.user_fit.r2}, {"points", r.user_fit.points}}},
               {"kernel_fit", {{"slope", r.kernel_fit.slope}, {"r2", r.kernel_fit.r2}, {"points", r.kernel_fit.points}}},
               {"slab_fit", {{"slope", r.slab_fit.slope}, {"r2", r.slab_fit.r2}, {"points", r.slab_fit.points}}},
               {"socket_slab_fit",
                {{"slope", r.socket_slab_fit.slope}, {"r2", r.socket_slab_fit.r2}, {"points", r.socket_slab_fit.points}}},
               {"client_socket_bytes", r.client_socket_bytes}};
  j["projection"] = {{"ceiling", r.projected}, {"limits", nlohmann::json::array()}};
  for (const auto& p : r.projection) {
    j["projection"]["limits"].push_back({{"id", p.id}, {"limit", p.limit}, {"ceiling", p.ceiling}, {"binding", p.binding}});
  }
  j["notes"] = r.notes;
  j["samples"] = nlohmann::json::array();
  for (const auto& s : r.samples) {
    j["samples"].push_back({{"t", s.t}, {"client_held", s.client_held}, {"opened", s.opened}, {"failed", s.failed},
                            {"closed_by_server", s.closed_by_server}, {"accepted", s.accepted}, {"queued", s.queued},
                            {"backlog", s.backlog}, {"close_wait", s.close_wait}, {"fds", s.fds}, {"anon", s.anon},
                            {"cpu_percent", s.cpu_percent}, {"threads", s.threads}, {"cg_kernel", s.cg_kernel},
                            {"cg_usage", s.cg_usage}, {"client_kernel", s.client_kernel}, {"slab", s.slab}, {"socket_slab", s.socket_slab},
                            {"usable", s.usable}, {"rate", s.rate}, {"pace", s.pace}, {"listen_overflows", s.listen_overflows},
                            {"listen_drops", s.listen_drops}});
  }
  return j;
}

std::string ServerProbeToHtml(const probe::ServerReport& r) {
  std::string title = fmt::format("tcpmax probe --server {}: {} held by {}", r.server, FormatCount(r.held),
                                  r.name.empty() ? "the server" : r.name);
  Series accepted{"held by the server (accepted)", "#1f77b4", {}, false};
  Series client{"established for the client", "#2ca02c", {}, false};
  Series queued{"waiting in the listen queue", "#d62728", {}, false};
  Series closed{"closed by the server (total)", "#ff7f0e", {}, false};
  Series user{"server anonymous memory", "#9467bd", {}, false};
  Series kernel{"server kernel memory (group)", "#8c564b", {}, false};
  for (const auto& s : r.samples) {
    accepted.points.push_back({s.t, double(s.accepted)});
    client.points.push_back({s.t, double(s.client_held)});
    queued.points.push_back({s.t, double(s.queued)});
    closed.points.push_back({s.t, double(s.closed_by_server)});
    user.points.push_back({double(s.accepted), double(s.anon)});
    kernel.points.push_back({double(s.accepted), double(s.cg_kernel)});
  }
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n"
      "<style>body{{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}}"
      "pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}figure{{margin:1.5em 0}}"
      ".big{{font-size:2em;font-weight:bold}}</style></head><body>\n<h1>{}</h1>\n<p>{}</p>\n"
      "<p class=\"big\">{} held; stopped by {}</p>\n",
      XmlEscape(title), XmlEscape(title), XmlEscape(r.command), FormatCount(r.held),
      XmlEscape(r.binding ? r.binding->limit : std::string("nothing: the target was reached")));
  html += "<figure id=\"connections\">" +
          LineChart(Axes{"Connections over the climb", "seconds", "connections"}, {accepted, client, queued, closed}) +
          "</figure>\n";
  html += "<figure id=\"memory\">" +
          LineChart(Axes{"The server's memory against the connections it holds", "connections held", "bytes"}, {user, kernel}) +
          "</figure>\n";
  html += "<h2>Summary</h2>\n<pre>" + XmlEscape(ServerProbeToText(r)) + "</pre>\n";
  html += "<p>Generated by tcpmax probe --server. JSON: <code>tcpmax probe --server ... --json</code>.</p>\n</body></html>\n";
  return html;
}

}  // namespace tcpmax::report

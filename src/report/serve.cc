#include "report/serve.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/units.h"
#include "limits/errno_class.h"

namespace tcpmax::report {
namespace {

nlohmann::json ErrorsJson(const limits::ErrorCounts& errors) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, n] : errors.ByKey()) j[key] = n;
  return j;
}

std::vector<std::string> Strings(const std::vector<Endpoint>& eps) {
  std::vector<std::string> out;
  for (const Endpoint& ep : eps) out.push_back(ep.ToString());
  return out;
}

}  // namespace

std::string ServeReadyText(const serve::ServeOutcome& o, const ServeRunInfo& info) {
  std::string joined;
  for (const auto& l : Strings(o.endpoints)) joined += (joined.empty() ? "" : ",") + l;
  std::string out = info.engine_note.empty() ? "" : fmt::format("tcpmax serve: {}\n", info.engine_note);
  return out + fmt::format("tcpmax serve: listening on {} (engine {}, mode {}, {} workers, backlog {})\n", joined,
                           EngineName(info.options.engine), serve::ToString(info.options.mode),
                           info.options.workers, o.backlog);
}

nlohmann::json ServeReadyJson(const std::vector<Endpoint>& endpoints, const ServeRunInfo& info, int pid) {
  nlohmann::json j = {{"type", "ready"},
                      {"listen", Strings(endpoints)},
                      {"engine", EngineName(info.options.engine)},
                      {"mode", serve::ToString(info.options.mode)},
                      {"workers", info.options.workers},
                      {"pid", pid}};
  if (!info.engine_note.empty()) j["engine_note"] = info.engine_note;
  return j;
}

std::string ServeProgressLine(const serve::ServeProgress& p) {
  const serve::ServeSnapshot& s = p.snapshot;
  return fmt::format("serve {:.0f}s  held {}  accepted {} (+{}/s)  closed {}  errors {}  rss {}", p.t,
                     FormatCount(s.held()), FormatCount(s.accepted), FormatShort(p.accept_rate),
                     FormatCount(s.closed), FormatCount(s.errors.Total()), FormatBytes(double(p.rss_bytes)));
}

nlohmann::json ServeProgressJson(const serve::ServeProgress& p) {
  const serve::ServeSnapshot& s = p.snapshot;
  return {{"type", "progress"},        {"t_seconds", p.t},          {"held", s.held()},
          {"accepted", s.accepted},    {"closed", s.closed},        {"errors", ErrorsJson(s.errors)},
          {"rss_bytes", p.rss_bytes},  {"accept_rate_per_second", p.accept_rate},
          {"rings", s.rings},          {"table_full", s.table_full}};
}

nlohmann::json ServeSummaryJson(const serve::ServeOutcome& o, const ServeRunInfo& info) {
  const serve::ServeSnapshot& s = o.at_stop;
  nlohmann::json j = {{"schema", "tcpmax.serve/2"},
                      {"engine", EngineName(info.options.engine)},
                      {"mode", serve::ToString(info.options.mode)},
                      {"listen", Strings(o.endpoints)},
                      {"workers", info.options.workers},
                      {"backlog", o.backlog},
                      {"duration_seconds", o.seconds},
                      {"stop_reason", info.stop_reason},
                      {"held", o.held_before_stop},
                      {"peak_held", o.peak_held},
                      {"accepted", s.accepted},
                      {"closed", s.closed},
                      {"resets", s.resets},
                      {"rejected", s.rejected},
                      {"errors", ErrorsJson(s.errors)},
                      {"rss_bytes", o.rss_before_stop_bytes},
                      {"rss_start_bytes", o.rss_start_bytes}};
  if (info.options.engine == Engine::kUring) {
    j["rings"] = s.rings;
    j["table_full"] = s.table_full;
  }
  if (o.held_before_stop > 0) {
    double delta = double(o.rss_before_stop_bytes) - double(o.rss_start_bytes);
    j["user_bytes_per_held"] = std::max(0.0, delta) / double(o.held_before_stop);
  }
  if (!info.engine_note.empty()) j["engine_note"] = info.engine_note;
  if (info.options.session.active()) {
    const serve::SessionCounts& c = s.session;
    j["session"] = {{"tls", info.options.session.tls != nullptr}, {"proto", info.options.session.ws ? "ws" : "raw"},
                    {"tls_handshakes", c.tls_done}, {"tls_failed", c.tls_failed},
                    {"tls_parked", c.tls_parked}, {"ws_upgrades", c.ws_upgrades},
                    {"ws_refused", c.ws_refused}, {"ws_messages", c.ws_messages}, {"ws_bad_frames", c.ws_bad_frames}};
  }
  return j;
}

std::string ServeSummaryText(const serve::ServeOutcome& o, const ServeRunInfo& info) {
  const serve::ServeSnapshot& s = o.at_stop;
  std::string out = fmt::format("serve ({} engine, {} mode, {} workers) ran {:.1f}s, stopped by {}\n",
                                EngineName(info.options.engine), serve::ToString(info.options.mode),
                                info.options.workers, o.seconds, info.stop_reason);
  out += fmt::format("  held      {} at stop (peak {})\n", FormatCount(o.held_before_stop), FormatCount(o.peak_held));
  out += fmt::format("  accepted  {}   closed {} (peer resets {}, rejected by --max-conns {})\n",
                     FormatCount(s.accepted), FormatCount(s.closed), FormatCount(s.resets), FormatCount(s.rejected));
  if (info.options.engine == Engine::kUring) {
    out += fmt::format("  rings     {} io_uring rings (dropped, table full: {})\n", FormatCount(s.rings),
                       FormatCount(s.table_full));
  }
  std::string per_conn;
  if (o.held_before_stop > 0) {
    double delta = std::max(0.0, double(o.rss_before_stop_bytes) - double(o.rss_start_bytes));
    per_conn = fmt::format(", {:.1f} B per held connection", delta / double(o.held_before_stop));
  }
  out += fmt::format("  memory    rss {} (start {}){}\n", FormatBytes(double(o.rss_before_stop_bytes)),
                     FormatBytes(double(o.rss_start_bytes)), per_conn);
  if (info.options.session.tls) {
    out += fmt::format("  tls       {} handshakes, {} failed", FormatCount(s.session.tls_done),
                       FormatCount(s.session.tls_failed));
    if (info.options.session.tls->config().park) {
      out += fmt::format(", {} parked (--tls-park: the SSL object freed, the traffic keys kept)",
                         FormatCount(s.session.tls_parked));
    }
    out += "\n";
  }
  if (info.options.session.ws) {
    out += fmt::format("  ws        {} upgrades ({} refused), {} messages, {} bad frames\n",
                       FormatCount(s.session.ws_upgrades), FormatCount(s.session.ws_refused),
                       FormatCount(s.session.ws_messages), FormatCount(s.session.ws_bad_frames));
  }
  if (s.errors.Total() == 0) return out + "  errors    none\n";
  for (const auto& [code, n] : s.errors.ByClass()) {
    out += fmt::format("  error     {} x{}: {} -> {}\n", limits::ErrorKey(code), FormatCount(n),
                       limits::ErrorMeaning(code), limits::ErrorRemedy(code));
  }
  return out;
}

}  // namespace tcpmax::report

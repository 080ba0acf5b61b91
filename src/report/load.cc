#include "report/load.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/units.h"
#include "limits/errno_class.h"
#include "proto/kind.h"
#include "proto/proto_error.h"
#include "sys/reader.h"

namespace tcpmax::report {
namespace {

std::string ErrorsShort(const load::LoadStats& s) {
  std::string out;
  for (const auto& [key, n] : s.errors.ByKey()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", key, FormatCount(n));
  return out;
}

std::string Quantiles(const Histogram& h) {
  if (h.count() == 0) return "none";
  auto d = [](uint64_t ns) { return FormatDuration(std::chrono::nanoseconds(ns)); };
  return fmt::format("p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} samples)", d(h.Quantile(0.5)), d(h.Quantile(0.9)),
                     d(h.Quantile(0.99)), d(h.Quantile(0.999)), d(h.max()), FormatCount(h.count()));
}

nlohmann::json QuantilesJson(const Histogram& h) {
  return {{"count", h.count()},          {"p50_ns", h.Quantile(0.50)}, {"p90_ns", h.Quantile(0.90)},
          {"p99_ns", h.Quantile(0.99)},  {"p999_ns", h.Quantile(0.999)}, {"max_ns", h.max()}};
}

nlohmann::json ErrorsJson(const load::LoadStats& s) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [key, n] : s.errors.ByKey()) errors[key] = n;
  return errors;
}

std::string SessionText(const load::SessionStats& ss, const load::LoadStats& s, const load::SessionOptions& o) {
  std::string out = fmt::format("  session   {}{}: {} ready", proto::ProtoName(o.proto), o.tls ? " over TLS" : "",
                                FormatCount(ss.ready));
  if (ss.reopened > 0) out += fmt::format(", {} reopened (--lifetime)", FormatCount(ss.reopened));
  if (ss.closes_sent > 0) {
    out += fmt::format("; {} {} sent at --lifetime, {} answered by the peer's close",
                       FormatCount(ss.closes_sent), o.proto == proto::Proto::kMqtt ? "DISCONNECTs" : "close frames (1000)",
                       FormatCount(ss.closes_answered));
  }
  out += "\n";
  if (o.tls) {
    out += fmt::format("  tls       {} handshakes ({} resumed): {}\n", FormatCount(ss.tls_done),
                       FormatCount(ss.tls_resumed), Quantiles(ss.tls_ns));
    if (o.tls_config.park) {
      out += fmt::format("  tls park  {} sessions parked (the SSL object freed, the traffic keys kept)\n",
                         FormatCount(ss.tls_parked));
    }
  }
  if (o.proto != proto::Proto::kRaw) {
    std::string_view what = o.proto == proto::Proto::kWs     ? "upgrade  "
                            : o.proto == proto::Proto::kMqtt ? "connack  "
                                                             : "first rsp";
    out += fmt::format("  {} {}\n", what, Quantiles(ss.ready_ns));
  }
  if (ss.messages_sent > 0 || ss.messages_received > 0) {
    out += fmt::format("  {}  sent {}, answered {}", o.proto == proto::Proto::kHttp ? "requests" : "messages",
                       FormatCount(ss.messages_sent), FormatCount(ss.messages_received));
    if (o.proto != proto::Proto::kHttp) {
      out += fmt::format("; echoes intact {} (--first-message included)", FormatCount(ss.echo_ok));
    }
    out += "\n";
    out += fmt::format("  msg rtt   {}\n", Quantiles(ss.message_rtt_ns));
  }
  if (o.proto == proto::Proto::kHttp) {
    out += fmt::format("  status    1xx {}  2xx {}  3xx {}  4xx {}  5xx {}\n", ss.http_status[0], ss.http_status[1],
                       ss.http_status[2], ss.http_status[3], ss.http_status[4]);
  }
  if (s.held() > 0) {
    out += fmt::format("  bytes     {} sent, {} received inside the sessions\n", FormatBytes(double(ss.bytes_sent)),
                       FormatBytes(double(ss.bytes_received)));
  }
  for (const auto& [e, n] : ss.errors.Sorted()) {
    const proto::ProtoErrorInfo& info = proto::Describe(e);
    out += fmt::format("  {} x {}: {}\n      remedy: {}\n", info.key, FormatCount(n), info.meaning, info.remedy);
  }
  return out;
}

nlohmann::json SessionJson(const load::SessionStats& ss, const load::SessionOptions& o) {
  nlohmann::json errors = nlohmann::json::object();
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& [e, n] : ss.errors.Sorted()) {
    const proto::ProtoErrorInfo& info = proto::Describe(e);
    errors[std::string(info.key)] = n;
    detail.push_back({{"class", info.key}, {"count", n}, {"meaning", info.meaning}, {"remedy", info.remedy}});
  }
  return {{"proto", proto::ProtoName(o.proto)},
          {"tls", o.tls},
          {"ready", ss.ready},
          {"tls_handshakes", ss.tls_done},
          {"tls_resumed", ss.tls_resumed},
          {"tls_parked", ss.tls_parked},
          {"reopened", ss.reopened},
          {"closes_sent", ss.closes_sent},
          {"closes_answered", ss.closes_answered},
          {"messages_sent", ss.messages_sent},
          {"messages_received", ss.messages_received},
          {"echo_ok", ss.echo_ok},
          {"bytes_sent", ss.bytes_sent},
          {"bytes_received", ss.bytes_received},
          {"http_status", {{"1xx", ss.http_status[0]}, {"2xx", ss.http_status[1]}, {"3xx", ss.http_status[2]},
                           {"4xx", ss.http_status[3]}, {"5xx", ss.http_status[4]}}},
          {"tls_time", QuantilesJson(ss.tls_ns)},
          {"ready_time", QuantilesJson(ss.ready_ns)},
          {"message_rtt", QuantilesJson(ss.message_rtt_ns)},
          {"errors", errors},
          {"error_detail", detail}};
}

}  // namespace

std::string LoadProgressLine(const load::LoadStats& s, double rate) {
  std::string line = fmt::format("load: opened {}/{}  held {}  {}/s  failed {}", FormatCount(s.opened),
                                 FormatCount(s.target), FormatCount(s.held()), FormatShort(rate), FormatCount(s.failed));
  if (s.failed > 0) line += " (" + ErrorsShort(s) + ")";
  uint64_t left = s.target - std::min(s.target, s.opened + s.failed);
  if (left > 0 && rate > 0) {
    line += "  ETA " + FormatDuration(std::chrono::nanoseconds(static_cast<int64_t>(left / rate * 1e9)));
  } else if (s.ramp_done()) {
    line += "  holding";
  }
  return line;
}

nlohmann::json LoadProgressJson(const load::LoadStats& s, double rate, bool done) {
  nlohmann::json j = {{"type", done ? "done" : "progress"}, {"t_seconds", s.t},       {"target", s.target},
                      {"opened", s.opened},                 {"held", s.held()},       {"failed", s.failed},
                      {"rate_per_second", rate},            {"errors", ErrorsJson(s)}, {"rss_bytes", s.rss_bytes}};
  const load::SessionStats& ss = s.session;
  if (ss.ready + ss.pending + ss.messages_sent > 0) {
    j["session"] = {{"ready", ss.ready},
                    {"pending", ss.pending},
                    {"messages_sent", ss.messages_sent},
                    {"messages_received", ss.messages_received},
                    {"errors", ss.errors.Total()}};
  }
  return j;
}

std::string LoadPlanText(const load::LoadRun& run) {
  std::string out;
  if (!run.engine_note.empty()) out += fmt::format("tcpmax load: {}\n", run.engine_note);
  out += fmt::format("tcpmax load: {} connections to {} target(s) from {} source address(es), engine {}, "
                     "{} process(es) x {} worker(s)\n",
                     FormatCount(run.options.connections), run.plan.target_count(), run.plan.source_count(),
                     EngineName(run.options.engine), run.processes, run.workers);
  std::string targets;
  const auto& all = run.plan.targets();
  for (size_t i = 0; i < all.size() && i < 8; ++i) targets += (i ? ", " : "") + all[i].ToString();
  if (all.size() > 8) targets += fmt::format(", ... ({} in all, last {})", all.size(), all.back().ToString());
  out += fmt::format("tcpmax load: targets {}; rate {}\n", targets,
                     run.options.rate > 0 ? FormatShort(run.options.rate) + "/s" : std::string("unpaced"));
  if (run.plan.max_per_pair() > 10'000) {
    out += fmt::format("tcpmax load: warning: {} connections per (source, target) pair; past ~10,000 connect() slows "
                       "and the ephemeral port range runs out (add --source addresses or target ports)\n",
                       FormatCount(run.plan.max_per_pair()));
  }
  return out;
}

std::string LoadSummaryText(const load::LoadStats& s, const load::LoadRun& run, bool interrupted) {
  std::string out = fmt::format(
      "tcpmax load: {} connections to {} target(s) from {} source address(es), engine {}, {} process(es) x {} "
      "worker(s){}\n",
      FormatCount(s.target), run.plan.target_count(), run.plan.source_count(), EngineName(run.options.engine),
      run.processes, run.workers, interrupted ? " (interrupted)" : "");
  std::string ramp =
      s.ramp_seconds > 0
          ? fmt::format(" in {} ({}/s)", FormatDuration(std::chrono::nanoseconds(int64_t(s.ramp_seconds * 1e9))),
                        FormatShort(double(s.opened) / s.ramp_seconds))
          : "";
  out += fmt::format("  opened    {} of {}{}\n", FormatCount(s.opened), FormatCount(s.target), ramp);
  out += fmt::format("  held      {} at the end (closed by the peer: {})\n", FormatCount(s.held()), FormatCount(s.closed));
  out += fmt::format("  failed    {}\n", FormatCount(s.failed));
  out += fmt::format("  connect   {}\n", Quantiles(s.connect_ns));
  if (s.pings_sent > 0) {
    out += fmt::format("  ping      sent {}, echoed {}, bad {}\n", FormatCount(s.pings_sent), FormatCount(s.pongs),
                       FormatCount(s.pongs_bad));
    out += fmt::format("  rtt       {}\n", Quantiles(s.rtt_ns));
  }
  if (s.held() > 0) {
    double grown = std::max(0.0, double(s.anon_bytes) - double(s.anon_start_bytes));
    out += fmt::format("  memory    RSS {} in all processes; heap and stacks grew {} ({:.0f} B per held connection)\n",
                       FormatBytes(double(s.rss_bytes)), FormatBytes(grown), grown / double(s.held()));
  }
  for (const auto& [code, n] : s.errors.ByClass()) {
    out += fmt::format("  {} x {}: {}\n      remedy: {}\n", limits::ErrorKey(code), FormatCount(n),
                       limits::ErrorMeaning(code), limits::ErrorRemedy(code));
  }
  if (run.options.session.active()) out += SessionText(s.session, s, run.options.session);
  return out;
}

nlohmann::json LoadSummaryJson(const load::LoadStats& s, const load::LoadRun& run, bool interrupted) {
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& [code, n] : s.errors.ByClass()) {
    detail.push_back({{"class", limits::ErrorKey(code)}, {"count", n}, {"meaning", limits::ErrorMeaning(code)},
                      {"remedy", limits::ErrorRemedy(code)}});
  }
  nlohmann::json j = {{"schema", "tcpmax.load/3"},
          {"engine", EngineName(run.options.engine)},
          {"processes", run.processes},
          {"workers", run.workers},
          {"sources", run.plan.source_count()},
          {"targets", run.plan.target_count()},
          {"max_per_pair", run.plan.max_per_pair()},
          {"interrupted", interrupted},
          {"t_seconds", s.t},
          {"target", s.target},
          {"attempted", s.attempted},
          {"opened", s.opened},
          {"held", s.held()},
          {"closed", s.closed},
          {"failed", s.failed},
          {"ramp_seconds", s.ramp_seconds},
          {"rate_per_second", s.ramp_seconds > 0 ? double(s.opened) / s.ramp_seconds : 0.0},
          {"rss_bytes", s.rss_bytes},
          {"rss_start_bytes", s.rss_start_bytes},
          {"anon_bytes", s.anon_bytes},
          {"anon_start_bytes", s.anon_start_bytes},
          {"connect_time", QuantilesJson(s.connect_ns)},
          {"pings_sent", s.pings_sent},
          {"pongs", s.pongs},
          {"pongs_bad", s.pongs_bad},
          {"rtt", QuantilesJson(s.rtt_ns)},
          {"errors", ErrorsJson(s)},
          {"error_detail", detail}};
  if (run.options.session.active()) j["session"] = SessionJson(s.session, run.options.session);
  return j;
}

std::string LoadServerText(const probe::ServerView& v, uint64_t client_held) {
  uint64_t server_side = v.accepted + v.queued + v.close_wait;
  uint64_t client_only = client_held > server_side ? client_held - server_side : 0;
  std::string out = fmt::format("  server    {} (pid {}, {} process(es)) holds {} of the {} held by this client (by socket inode)\n",
                                v.name, v.pid, v.processes, FormatCount(v.held), FormatCount(client_held));
  if (v.queued > 0) {
    out += fmt::format("            {} wait in its listen queue: established for the client, NOT accepted by the server\n",
                       FormatCount(v.queued));
  }
  if (client_only > 0) {
    out += fmt::format("            {} exist on the client side only (SYN cookies while the queue was full): NOT held\n",
                       FormatCount(client_only));
  }
  if (v.accepted > v.held) {
    out += fmt::format("            {} accepted sockets on the port belong to other processes\n", FormatCount(v.accepted - v.held));
  }
  if (v.nofile_soft != sys::kUnlimited && v.fds + 2 >= v.nofile_soft) {
    out += fmt::format("            its descriptors are at its RLIMIT_NOFILE ({} of {}): tcpmax probe --server names the limit\n",
                       FormatCount(v.fds), FormatCount(v.nofile_soft));
  }
  return out;
}

nlohmann::json LoadServerJson(const probe::ServerView& v, uint64_t client_held) {
  uint64_t server_side = v.accepted + v.queued + v.close_wait;
  return {{"pid", v.pid},
          {"name", v.name},
          {"processes", v.processes},
          {"held", v.held},
          {"accepted", v.accepted},
          {"queued", v.queued},
          {"close_wait", v.close_wait},
          {"client_only", client_held > server_side ? client_held - server_side : 0},
          {"fds", v.fds},
          {"nofile_soft", v.nofile_soft == sys::kUnlimited ? nlohmann::json("unlimited") : nlohmann::json(v.nofile_soft)}};
}

}  // namespace tcpmax::report

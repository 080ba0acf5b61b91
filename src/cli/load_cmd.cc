// tcpmax load: open and hold N outbound TCP connections from many source
// addresses, paced, with connect/ping latency histograms and every failure
// classified by errno with its meaning and remedy.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/units.h"
#include "load/connector.h"
#include "limits/errno_class.h"
#include "load/runner.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "load";

struct Flags {
  std::string targets, connections, rate, hold = "0s", sources, engine = "auto", connect_timeout = "3s", ping,
                                          interval = "1s";
  int workers = 0, processes = 0;
  bool json = false, progress_json = false;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("target", f.targets,
                 "where to connect: ADDR:PORT[,...]; a port range opens to every port, e.g. 127.0.0.1:7000-7015")
      ->required();
  app.add_option("-n,--connections", f.connections, "connections to open, e.g. 50k")->required();
  app.add_option("--rate", f.rate, "connection attempts per second, e.g. 5k/s (default: as fast as possible)");
  app.add_option("--hold", f.hold, "how long to hold after the ramp: a duration (30s) or forever");
  app.add_option("--source", f.sources,
                 "source address CIDRs, e.g. 127.0.0.0/16,127.1.0.1. Default: 127.0.0.0/16 for a loopback "
                 "target (::1 for IPv6), else every address of the interface that routes to the target. "
                 "Connections spread evenly over (source, target) pairs");
  app.add_option("--engine", f.engine,
                 "auto, epoll or uring. auto picks uring (io_uring direct descriptors: no fd per connection, "
                 "so one process passes the fd limit) when it works, else epoll (forks --processes to pass it)");
  app.add_option("--workers", f.workers, "threads per process (default: cores / processes)");
  app.add_option("--processes", f.processes,
                 "processes (default: 1 for uring; for epoll as many as the fd limit needs)");
  app.add_option("--connect-timeout", f.connect_timeout, "give up on a connect after this long");
  app.add_option("--ping", f.ping,
                 "send a 16-byte probe on every held connection each INTERVAL and time the echo "
                 "(against tcpmax serve --mode echo)");
  app.add_flag("--json", f.json, "print the summary as one JSON object on stdout");
  app.add_flag("--progress-json", f.progress_json, "progress as JSON lines on stderr (for tcpmax probe)");
  app.add_option("--interval", f.interval, "progress period, e.g. 200ms");
}

// "127.0.0.1:7000-7015" -> 16 endpoints; "[::1]:7000"; "localhost:7000".
Result<std::vector<Endpoint>> ParseTargets(std::string_view text) {
  std::vector<Endpoint> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    size_t colon = item.rfind(':');
    if (colon != std::string_view::npos && item.substr(colon).find('-') != std::string_view::npos) {
      std::string_view host = item.substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      auto ip = ParseIp(host);
      if (!ip) return PlainError("bad target '" + std::string(item) + "': " + ip.error().context);
      auto ports = ParsePortRanges(item.substr(colon + 1));
      if (!ports) return PlainError("bad target '" + std::string(item) + "': " + ports.error().context);
      for (const PortRange& r : *ports) {
        for (uint32_t p = r.lo; p <= r.hi; ++p) out.push_back(Endpoint{*ip, static_cast<uint16_t>(p)});
      }
      continue;
    }
    auto ep = ParseEndpoint(item);
    if (!ep) return PlainError("bad target '" + std::string(item) + "': " + ep.error().context);
    if (ep->port == 0) return PlainError("bad target '" + std::string(item) + "': port 0");
    out.push_back(*ep);
  }
  return out;
}

// Validates flags into LoadOptions; the string is a usage error.
tl::expected<load::LoadOptions, std::string> Validate(const Flags& f) {
  load::LoadOptions o;
  auto targets = ParseTargets(f.targets);
  if (!targets) return tl::unexpected(targets.error().context);
  o.targets = std::move(*targets);
  auto n = ParseCount(f.connections);
  if (!n) return tl::unexpected("--connections: " + n.error().context);
  if (*n == 0) return tl::unexpected(std::string("--connections must be at least 1"));
  o.connections = *n;
  if (!f.rate.empty()) {
    auto r = ParseRate(f.rate);
    if (!r) return tl::unexpected("--rate: " + r.error().context);
    if (*r <= 0) return tl::unexpected(std::string("--rate must be positive"));
    o.rate = *r;
  }
  if (f.hold == "forever") {
    o.hold_ns = std::nullopt;
  } else {
    auto h = ParseDuration(f.hold);
    if (!h) return tl::unexpected("--hold: " + h.error().context + " (or 'forever')");
    o.hold_ns = static_cast<uint64_t>(h->count());
  }
  auto timeout = ParseDuration(f.connect_timeout);
  if (!timeout || timeout->count() <= 0) return tl::unexpected(std::string("--connect-timeout: expected a duration like 3s"));
  o.connect_timeout_ns = static_cast<uint64_t>(timeout->count());
  auto interval = ParseDuration(f.interval);
  if (!interval || interval->count() < 10'000'000) return tl::unexpected(std::string("--interval: expected a duration >= 10ms"));
  o.interval_ns = static_cast<uint64_t>(interval->count());
  if (!f.ping.empty()) {
    auto p = ParseDuration(f.ping);
    if (!p || p->count() < 1'000'000) return tl::unexpected(std::string("--ping: expected an interval >= 1ms, e.g. 1s"));
    o.ping_interval_ns = static_cast<uint64_t>(p->count());
  }
  if (f.engine == "epoll") {
    o.engine = load::LoadEngine::kEpoll;
  } else if (f.engine == "uring") {
    o.engine = load::LoadEngine::kUring;
  } else if (f.engine != "auto") {
    return tl::unexpected("--engine: expected auto, epoll or uring, not '" + f.engine + "'");
  }
  if (f.workers < 0 || f.workers > 256) return tl::unexpected(std::string("--workers: expected 1-256"));
  if (f.processes < 0 || f.processes > 512) return tl::unexpected(std::string("--processes: expected 1-512"));
  o.workers = f.workers;
  o.processes = f.processes;
  if (!f.sources.empty()) {
    auto s = ParseCidrs(f.sources);
    if (!s) return tl::unexpected("--source: " + s.error().context);
    o.sources = std::move(*s);
    for (const Cidr& c : o.sources) {
      if (c.base.family != o.targets[0].ip.family) {
        return tl::unexpected("--source " + c.ToString() + " is not the address family of the target");
      }
    }
  }
  return o;
}

std::string ErrorsShort(const load::LoadStats& s) {
  std::string out;
  for (const auto& [key, n] : s.errors.ByKey()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", key, FormatCount(n));
  return out;
}

std::string ProgressLine(const load::LoadStats& s, double rate) {
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

std::string Quantiles(const Histogram& h) {
  if (h.count() == 0) return "none";
  auto d = [](uint64_t ns) { return FormatDuration(std::chrono::nanoseconds(ns)); };
  return fmt::format("p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  ({} samples)", d(h.Quantile(0.5)), d(h.Quantile(0.9)),
                     d(h.Quantile(0.99)), d(h.Quantile(0.999)), d(h.max()), FormatCount(h.count()));
}

struct RunInfo {
  std::string engine;
  int processes = 1, workers = 1;
  uint64_t sources = 0, targets = 0, max_per_pair = 0;
  bool interrupted = false;
};

void PrintSummary(const load::LoadStats& s, const RunInfo& info) {
  fmt::print("tcpmax load: {} connections to {} target(s) from {} source address(es), engine {}, {} process(es) x {} "
             "worker(s){}\n",
             FormatCount(s.target), info.targets, info.sources, info.engine, info.processes, info.workers,
             info.interrupted ? " (interrupted)" : "");
  std::string ramp = s.ramp_seconds > 0
                         ? fmt::format(" in {} ({}/s)", FormatDuration(std::chrono::nanoseconds(int64_t(s.ramp_seconds * 1e9))),
                                       FormatShort(double(s.opened) / s.ramp_seconds))
                         : "";
  fmt::print("  opened    {} of {}{}\n", FormatCount(s.opened), FormatCount(s.target), ramp);
  fmt::print("  held      {} at the end (closed by the peer: {})\n", FormatCount(s.held()), FormatCount(s.closed));
  fmt::print("  failed    {}\n", FormatCount(s.failed));
  fmt::print("  connect   {}\n", Quantiles(s.connect_ns));
  if (s.pings_sent > 0) {
    fmt::print("  ping      sent {}, echoed {}, bad {}\n", FormatCount(s.pings_sent), FormatCount(s.pongs),
               FormatCount(s.pongs_bad));
    fmt::print("  rtt       {}\n", Quantiles(s.rtt_ns));
  }
  if (s.held() > 0) {
    double grown = std::max(0.0, double(s.anon_bytes) - double(s.anon_start_bytes));
    fmt::print("  memory    RSS {} in all processes; heap and stacks grew {} ({:.0f} B per held connection)\n",
               FormatBytes(double(s.rss_bytes)), FormatBytes(grown), grown / double(s.held()));
  }
  for (const auto& [code, n] : s.errors.ByClass()) {
    fmt::print("  {} x {}: {}\n      remedy: {}\n", limits::ErrorKey(code), FormatCount(n), limits::ErrorMeaning(code),
               limits::ErrorRemedy(code));
  }
}

}  // namespace

int RunLoad(int argc, char** argv) {
  CLI::App app{"Open and hold N outbound TCP connections from many source addresses; classify every failure.",
               std::string(kName)};
  ConfigureApp(app);
  Flags f;
  AddFlags(app, f);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  auto opts = Validate(f);
  if (!opts) return UsageError(kName, opts.error());
  load::LoadOptions& o = *opts;
  if (o.sources.empty()) {
    auto s = load::DefaultSources(o.targets[0]);
    if (!s) return RuntimeError(kName, s.error());
    o.sources = std::move(*s);
  }
  load::RaiseFdLimit();
  RunInfo info;
  if (f.engine != "epoll") {
    auto ok = load::UringConnectSupported();
    if (ok) {
      o.engine = load::LoadEngine::kUring;
    } else if (f.engine == "uring") {
      return RuntimeError(kName, Error{ok.error().code, "--engine uring unavailable: " + ok.error().context});
    } else {
      o.engine = load::LoadEngine::kEpoll;
      if (!f.progress_json) fmt::print(stderr, "tcpmax load: using epoll: {}\n", ok.error().ToString());
    }
  }
  info.engine = o.engine == load::LoadEngine::kUring ? "uring" : "epoll";
  info.processes = load::PlanProcesses(o);
  info.workers = load::PlanWorkers(o, info.processes);
  auto plan = load::SourcePlan::Make(o.sources, o.targets, o.connections);
  if (!plan) return UsageError(kName, plan.error().context);
  info.sources = plan->source_count();
  info.targets = plan->target_count();
  info.max_per_pair = plan->max_per_pair();
  if (info.max_per_pair > 10'000 && !f.progress_json) {
    fmt::print(stderr,
               "tcpmax load: warning: {} connections per (source, target) pair; past ~10,000 connect() slows and "
               "the ephemeral port range runs out (add --source addresses or target ports)\n",
               FormatCount(info.max_per_pair));
  }

  const std::atomic<bool>& stop = StopOnSignals();
  Progress progress;
  load::LoadTick tick = [&](load::LoadEvent ev, const load::LoadStats& s, double rate) {
    if (f.progress_json) {
      nlohmann::json j = load::ToProgressJson(s, rate, ev == load::LoadEvent::kDone ? "done" : "progress");
      fmt::print(stderr, "{}\n", j.dump());
      std::fflush(stderr);
    } else if (ev == load::LoadEvent::kProgress) {
      progress.Update(ProgressLine(s, rate));
    }
  };
  auto result = load::RunLoad(o, stop, tick);
  progress.Finish();
  if (!result) return RuntimeError(kName, result.error());
  info.interrupted = stop.load();
  if (f.json) {
    nlohmann::json j = load::ToSummaryJson(*result);
    j["engine"] = info.engine;
    j["processes"] = info.processes;
    j["workers"] = info.workers;
    j["sources"] = info.sources;
    j["targets"] = info.targets;
    j["max_per_pair"] = info.max_per_pair;
    j["interrupted"] = info.interrupted;
    fmt::print("{}\n", j.dump());
  } else {
    PrintSummary(*result, info);
  }
  return kExitOk;
}

}  // namespace tcpmax::cli

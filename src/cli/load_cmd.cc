// tcpmax load: open and hold N outbound TCP connections from many source
// addresses, paced, with connect/ping latency histograms and every failure
// classified by errno with its meaning and remedy.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/session_flags.h"
#include "cli/dist_flags.h"
#include "cli/dist_live.h"
#include "cli/metrics_flag.h"
#include "core/engine.h"
#include "core/units.h"
#include "load/runner.h"
#include "metrics/families.h"
#include "probe/server_view.h"
#include "report/dist.h"
#include "report/load.h"
#include "sys/netns.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "load";

struct Flags {
  std::string targets, connections, rate, hold = "0s", sources, engine = "auto", connect_timeout = "3s", ping,
                                          interval = "1s";
  int workers = 0, processes = 0;
  bool json = false, progress_json = false, no_watch = false, bind_ports = false;
  SessionFlags session;
  int server_pid = 0;
};

void AddFlags(CLI::App& app, Flags& f) {
  app.add_option("target", f.targets,
                 "where to connect: ADDR:PORT[,...]; a port range opens to every port, e.g. 127.0.0.1:7000-7015")
      ->required();
  app.add_option("-n,--connections", f.connections, "connections to open, e.g. 50k")->required();
  app.add_option("--rate", f.rate,
                 "connection attempts per second, e.g. 5k/s (default: as fast as possible on loopback; 1k/s for a "
                 "target outside loopback)");
  app.add_option("--hold", f.hold, "how long to hold after the ramp: a duration (30s) or forever");
  app.add_option("--source", f.sources,
                 "source address CIDRs, e.g. 127.0.0.0/16,127.1.0.1. Default: 127.0.0.0/16 for a loopback "
                 "target (::1 for IPv6), else every address of the interface that routes to the target. "
                 "Connections spread evenly over (source, target) pairs");
  app.add_option("--engine", f.engine,
                 "auto, epoll or uring. auto picks uring (io_uring direct descriptors: no fd per connection, "
                 "so one process passes the fd limit) when it works, else epoll (forks --processes to pass it). "
                 "--proto/--tls/--message/--lifetime/--idle-timeout run on either: auto picks epoll for them, uring runs "
                 "them in one process fed from completion buffers")
      ->check(Values(Names(kEngines, EngineName)));
  app.add_option("--workers", f.workers, "threads per process (default: cores / processes)");
  app.add_option("--processes", f.processes,
                 "processes (default: 1 for uring; for epoll as many as the fd limit needs)");
  app.add_option("--connect-timeout", f.connect_timeout, "give up on a connect after this long");
  app.add_option("--ping", f.ping,
                 "send a 16-byte probe on every held connection each INTERVAL and time the echo "
                 "(against tcpmax serve --mode echo)");
  app.add_flag("--no-watch", f.no_watch,
               "once established, do not watch a held connection (no epoll item or armed io_uring recv: about "
               "200 B of kernel memory less per connection); a server's close is then not seen or counted. "
               "Not with --ping or the session flags");
  app.add_flag("--bind-ports", f.bind_ports,
               "choose each connection's source port instead of connect()'s search: the k-th connection of every "
               "(source, target) pair binds port LO+k of net.ipv4.ip_local_port_range with SO_REUSEADDR, so one "
               "(source, port) serves every target. Faster at scale and one bind bucket per (source, port); only "
               "where nothing else uses those ports (e.g. a namespace of its own, --netns)");
  app.add_flag("--json", f.json, "print the summary as one JSON object on stdout");
  app.add_option("--server-pid", f.server_pid,
                 "the server's process (local targets): also count what IT holds (accepted, by socket inode), what "
                 "waits in its listen queue, and what exists on the client side only");
  app.add_flag("--progress-json", f.progress_json, "progress as JSON lines on stderr (for tcpmax probe)");
  app.add_option("--interval", f.interval, "progress period, e.g. 200ms");
  AddSessionFlags(app, f.session);
}

bool AllLoopback(const std::vector<Endpoint>& targets) {
  for (const Endpoint& t : targets) {
    if (!t.ip.IsLoopback()) return false;
  }
  return true;
}

// A target outside loopback is someone's server: without --rate it gets this
// default pace, and the run is always bounded in time.
constexpr double kRemoteDefaultRate = 1000;

// Validates flags into LoadOptions; an error is a usage error.
Result<load::LoadOptions> Validate(const Flags& f) {
  load::LoadOptions o;
  auto targets = ParseEndpointSpec(f.targets, /*allow_port_zero=*/false);
  if (!targets) return PlainError("bad target " + targets.error().context);
  o.targets = std::move(*targets);
  auto n = ParseCount(f.connections);
  if (!n) return PlainError("--connections: " + n.error().context);
  if (*n == 0) return PlainError("--connections must be at least 1");
  o.connections = *n;
  if (!f.rate.empty()) {
    auto r = ParseRate(f.rate);
    if (!r) return PlainError("--rate: " + r.error().context);
    if (*r <= 0) return PlainError("--rate must be positive");
    o.rate = *r;
  }
  if (f.hold == "forever") {
    if (!o.targets.empty() && !AllLoopback(o.targets)) {
      return PlainError("--hold forever: refused for a target outside loopback; give a duration (e.g. --hold 60s)");
    }
    o.hold_ns = std::nullopt;
  } else {
    auto h = ParseDuration(f.hold);
    if (!h) return PlainError("--hold: " + h.error().context + " (or 'forever')");
    o.hold_ns = static_cast<uint64_t>(h->count());
  }
  if (f.rate.empty() && !AllLoopback(o.targets)) o.rate = kRemoteDefaultRate;
  auto timeout = ParseDuration(f.connect_timeout);
  if (!timeout || timeout->count() <= 0) return PlainError("--connect-timeout: expected a duration like 3s");
  o.connect_timeout_ns = static_cast<uint64_t>(timeout->count());
  auto interval = ParseDuration(f.interval);
  if (!interval || interval->count() < 10'000'000) return PlainError("--interval: expected a duration >= 10ms");
  o.interval_ns = static_cast<uint64_t>(interval->count());
  if (!f.ping.empty()) {
    auto p = ParseDuration(f.ping);
    if (!p || p->count() < 1'000'000) return PlainError("--ping: expected an interval >= 1ms, e.g. 1s");
    o.ping_interval_ns = static_cast<uint64_t>(p->count());
  }
  auto engine = ParseEngine(f.engine);
  if (!engine) return PlainError("--engine: " + engine.error().context);
  o.engine = *engine;
  auto session = ValidateSessionFlags(f.session, &o.ping_interval_ns);
  if (!session) return tl::unexpected(session.error());
  o.session = std::move(*session);
  if (f.no_watch && (o.ping_interval_ns > 0 || o.session.active())) {
    return PlainError("--no-watch: not with --ping or --proto/--tls/--message/--lifetime/--idle-timeout "
                      "(those read every connection)");
  }
  o.watch_held = !f.no_watch;
  o.explicit_ports = f.bind_ports;
  if (f.workers < 0 || f.workers > 256) return PlainError("--workers: expected 1-256");
  if (f.processes < 0 || f.processes > 512) return PlainError("--processes: expected 1-512");
  o.workers = f.workers;
  o.processes = f.processes;
  if (!f.sources.empty()) {
    auto s = ParseCidrs(f.sources);
    if (!s) return PlainError("--source: " + s.error().context);
    o.sources = std::move(*s);
    for (const Cidr& c : o.sources) {
      if (c.base.family != o.targets[0].ip.family) {
        return PlainError("--source " + c.ToString() + " is not the address family of the target");
      }
    }
  }
  return o;
}

}  // namespace

int RunLoad(int argc, char** argv) {
  CLI::App app{"Open and hold N outbound TCP connections from many source addresses; classify every failure.",
               std::string(kName)};
  ConfigureApp(app);
  Flags f;
  AddFlags(app, f);
  DistFlags dist_flags;
  AddDistFlags(app, dist_flags);
  std::string metrics_addr;
  AddMetricsFlag(app, metrics_addr);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  // First: from here on a closed stdout or stderr must not kill the run.
  const std::atomic<bool>& stop = StopOnSignals();
  auto opts = Validate(f);
  if (!opts) return UsageError(kName, opts.error().context);
  if (auto ok = CheckNetns(dist_flags); !ok) return UsageError(kName, ok.error().context);
  if (!metrics_addr.empty()) {
    if (auto at = ParseMetricsFlag(metrics_addr); !at) return UsageError(kName, at.error().context);
  }
  opts->netns = dist_flags.netns;
  // Explicit sources, or loopback's, are the same list on every rank: the
  // ranks split them. An interface's own addresses belong to its machine.
  bool sources_shared = !opts->sources.empty() || opts->targets[0].ip.IsLoopback();
  if (opts->sources.empty()) {
    auto scope = sys::NetnsScope::Enter(opts->netns);  // the addresses where the connections go
    if (!scope) return RuntimeError(kName, scope.error());
    auto s = load::DefaultSources(opts->targets[0]);
    if (!s) return RuntimeError(kName, s.error());
    opts->sources = std::move(*s);
  }
  std::vector<PortRange> server_ports;
  if (app.count("--server-pid") > 0) {
    for (const Endpoint& e : opts->targets) server_ports.push_back(PortRange{e.port, e.port});
    if (auto ok = probe::CheckServerListens(f.server_pid, server_ports); !ok) return UsageError(kName, ok.error().context);
  }
  auto dist_run = PrepareDist(dist_flags, *opts, sources_shared);
  if (!dist_run) return UsageError(kName, dist_run.error().context);
  bool bind_ports = opts->explicit_ports;
  auto run = load::PlanLoad(std::move(*opts));
  if (!run && bind_ports && run.error().code == EINVAL) return UsageError(kName, run.error().context);
  if (!run) return RuntimeError(kName, run.error());
  if (!f.progress_json) fmt::print(stderr, "{}", report::LoadPlanText(*run));
  if (dist_run->rank.distributed()) fmt::print(stderr, "{}", report::RankSliceText(dist_run->rank, dist_run->share));
  auto live = DistLive::Start(*dist_run, dist_flags.stop_when, stop);
  if (!live) return UsageError(kName, live.error().context);
  dist_run->clock_offset_ns = (*live)->clock_offset_ns();
  auto metrics_server = StartMetrics(kName, metrics_addr);  // before any thread enters --netns
  if (!metrics_server) return RuntimeError(kName, metrics_server.error());
  metrics::Labels metric_labels;
  if (dist_run->rank.distributed()) metric_labels = {{"rank", std::to_string(dist_run->rank.rank)}};
  auto publish = [&](const load::LoadStats& s, double rate) {
    if (*metrics_server) (*metrics_server)->Publish(metrics::LoadMetrics(s, rate, metric_labels));
  };
  publish(load::LoadStats{}, 0);
  int64_t late_ns = 0;
  if (auto late = (*live)->WaitForStart(dist_run->start); late) {
    late_ns = *late;
  } else {
    return RuntimeError(kName, Error{0, "stopped by " + StopSignalName() + " before --start-at"});
  }
  double start_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  Progress progress;
  // The server's view, taken once every attempt was answered and each
  // interval after (while held): the last one is reported.
  std::optional<probe::ServerView> server_view;
  uint64_t client_held_then = 0;
  load::LoadTick tick = [&](load::LoadEvent ev, const load::LoadStats& s, double rate) {
    publish(s, rate);
    (*live)->Update(s);
    if (!server_ports.empty() && (ev == load::LoadEvent::kDone || s.ramp_done()) && !stop.load()) {
      if (auto v = probe::ViewServer(f.server_pid, server_ports)) {
        server_view = *v;
        client_held_then = s.held();
      }
    }
    if (f.progress_json) {
      fmt::print(stderr, "{}\n", report::LoadProgressJson(s, rate, ev == load::LoadEvent::kDone).dump());
      std::fflush(stderr);
    } else if (ev == load::LoadEvent::kProgress && !(*live)->coordinated()) {
      progress.Update(report::LoadProgressLine(s, rate));
    }
  };
  auto result = load::RunLoad(*run, (*live)->stop(), tick);
  progress.Finish();
  if (!result) return RuntimeError(kName, result.error());
  auto job = (*live)->Finish(*result);
  if (job && dist_run->rank.rank == 0) Notice(JobLine(*job));
  if (!(*live)->stop_reason().empty()) Notice("load: stopped by " + (*live)->stop_reason());
  if (f.json) {
    nlohmann::json j = report::LoadSummaryJson(*result, *run, stop.load());
    if (server_view) j["server"] = report::LoadServerJson(*server_view, client_held_then);
    fmt::print("{}\n", j.dump());
  } else {
    fmt::print("{}", report::LoadSummaryText(*result, *run, stop.load()));
    if (server_view) fmt::print("{}", report::LoadServerText(*server_view, client_held_then));
  }
  auto written = FinishDist(*dist_run, run->options, *result, start_unix, late_ns, stop.load());
  if (!written) return RuntimeError(kName, written.error());
  if (!written->empty()) Notice("load: results in " + *written);
  return kExitOk;
}

}  // namespace tcpmax::cli

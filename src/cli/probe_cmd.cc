// tcpmax probe: the main job. Predicts the ceiling (limits), then climbs to it
// on loopback with serve and load shards, verifies both ends with the kernel
// and reports predicted vs measured.
// Flags -> probe::ProbeOptions -> probe::Prepare (refusals: exit 2) ->
// probe::RunProbe -> report/ (text, JSON, HTML) -> exit code.
#include <atomic>
#include <fstream>

#include "cli/cli_util.h"
#include "cli/metrics_flag.h"
#include "metrics/families.h"
#include "core/engine.h"
#include "core/units.h"
#include "probe/runner.h"
#include "probe/server_runner.h"
#include "report/probe_server.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/text_report.h"
#include "sys/reader.h"
#include "sys/rlimit.h"
#include "sys/run_journal.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "probe";

struct Options {
  std::string target = "100k";
  bool max = false;
  std::string engine = "auto";
  bool tune = false;
  std::string reserve = "10%";
  std::string pressure = "20%";
  std::string rate;
  std::string timeout = "10m";
  std::string interval = "250ms";
  bool json = false;
  std::string html;
  std::string hold = "0s";
  int first_port = 7000;
  // --server: the user's server instead of tcpmax's own.
  std::string server;
  int pid = 0;
  std::string exec;
  std::string cgroup;
  std::string plateau = "3s";
  std::string grace = "3s";
  std::string ready_timeout = "10s";
  std::string proto = "raw";
  bool tls = false, tls_release_buffers = false, tls_park = false;
  bool watch = false, host_netns = false;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--target", o.target, "connections to open and hold (units: 100k, 2M)");
  app.add_flag("--max", o.max, "climb until a limit binds or usable memory reaches the reserve (sizes the plan from memory)");
  app.add_option("--engine", o.engine,
                 "auto | epoll | uring (auto: io_uring direct descriptors, one process per side, from 1M connections "
                 "where they work, else epoll shards, one serve process per group of ports)")
      ->check(Values(Names(kEngines, EngineName)));
  app.add_flag("--tune", o.tune,
               "raise fs.file-max, epoll watches, somaxconn, syn backlog, port range, conntrack for the run; restore after");
  app.add_option("--reserve", o.reserve,
                 "stop before usable memory falls under this share of RAM (10%) or this size (1GiB); at least 512 MiB. "
                 "The guard counts the slab the sockets pin and stops the load at once, so 1GiB is safe on a box "
                 "that runs nothing else");
  app.add_option("--memory-pressure", o.pressure,
                 "stop when the box stalls on memory: PSI memory 'full' avg10 (every runnable task waiting for "
                 "memory at once) at or over this share (1-100%)");
  app.add_option("--rate", o.rate, "connections/s for load (default: as fast as it goes)");
  app.add_option("--timeout", o.timeout, "stop the climb after this long (30s, 10m)");
  app.add_option("--interval", o.interval, "sampling interval (at least 100ms)");
  app.add_option("--hold", o.hold,
                 "keep the connections this long at the peak before teardown (inspect them with "
                 "nsenter -t PID -n tcpmax count, PID being the probe's, or plain tcpmax count with --host-netns)");
  app.add_flag("--watch", o.watch,
               "watch every held connection on both sides (an epoll item each), as servers do; by default "
               "idle held connections are not watched, so each costs the kernel its two sockets alone");
  app.add_flag("--host-netns", o.host_netns,
               "climb in this process's network namespace; by default the probe makes a namespace of its own "
               "whose established hash is sized for the target (net.ipv4.tcp_child_ehash_entries), so lookups "
               "stay short at millions of sockets; it ends with the probe");
  app.add_option("--first-port", o.first_port, "server ports start here (127.0.0.1:PORT and up)");
  app.add_option("--proto", o.proto,
                 "raw, or ws: every connection a WebSocket session (own engines; epoll, or io_uring with --engine uring)")
      ->check(Values({"raw", "ws"}));
  app.add_flag("--tls", o.tls,
               "every connection a TLS session (self-signed identity made in memory; own engines; epoll, or io_uring with --engine uring)");
  app.add_flag("--tls-release-buffers", o.tls_release_buffers, "with --tls: SSL_MODE_RELEASE_BUFFERS on both sides");
  app.add_flag("--tls-park", o.tls_park,
               "with --tls: park idle TLS 1.3 sessions on both sides (the SSL object freed, the traffic keys kept)");
  app.add_option("--server", o.server,
                 "probe YOUR server at ADDR:PORTS (loopback) instead of tcpmax's own; name it with --pid, --exec or --cgroup");
  app.add_option("--pid", o.pid, "with --server: the server's main process (its children count too)");
  app.add_option("--exec", o.exec,
                 "with --server: start COMMAND (sh -c) in a memory control group of its own, probe it, stop it after");
  app.add_option("--cgroup", o.cgroup, "with --server: the server is every process of this control group (path)");
  app.add_option("--plateau", o.plateau,
                 "with --server: accepted flat this long while connects go on is the server's ceiling (default 3s)");
  app.add_option("--grace", o.grace, "with --exec: SIGTERM, then SIGKILL after this long (default 3s)");
  app.add_option("--ready-timeout", o.ready_timeout, "with --exec: wait this long for it to listen (default 10s)");
  app.add_flag("--json", o.json,
               "print the report as JSON (schema tcpmax.probe/2, see docs/probe.md; with --server "
               "tcpmax.probe-server/1, see docs/probe-server.md)");
  app.add_option("--html", o.html, "also write a self-contained HTML report with charts to FILE");
}

Result<probe::ProbeOptions> Validate(const Options& o) {
  probe::ProbeOptions opt;
  auto target = ParseCount(o.target);
  if (!target) return PlainError("--target: " + target.error().context);
  if (*target == 0) return PlainError("--target: must be at least 1");
  opt.target = *target;
  opt.max = o.max;
  auto engine = ParseEngine(o.engine);
  if (!engine) return PlainError("--engine: " + engine.error().context);
  opt.engine = *engine;
  opt.tune = o.tune;
  if (!o.reserve.empty() && o.reserve.back() == '%') {
    auto reserve = ParsePercent(o.reserve);
    if (!reserve) return PlainError("--reserve: " + reserve.error().context);
    if (*reserve <= 0 || *reserve >= 100) return PlainError("--reserve: '" + o.reserve + "' must be between 0% and 100%");
    opt.reserve_percent = *reserve;
  } else {
    auto bytes = ParseBytes(o.reserve);
    if (!bytes || *bytes == 0) {
      return PlainError("--reserve: '" + o.reserve + "' is neither a share of RAM (10%) nor a size (1GiB)");
    }
    opt.reserve_bytes = *bytes;
  }
  auto pressure = ParsePercent(o.pressure);
  if (!pressure || *pressure <= 0 || *pressure > 100) {
    return PlainError("--memory-pressure: '" + o.pressure + "' must be a share between 1% and 100%");
  }
  opt.max_memory_pressure = *pressure;
  if (!o.rate.empty()) {
    auto rate = ParseRate(o.rate);
    if (!rate || *rate <= 0) return PlainError("--rate: '" + o.rate + "' is not a positive rate (e.g. 20k/s)");
    opt.rate = *rate;
  }
  auto timeout = ParseDuration(o.timeout);
  if (!timeout || timeout->count() <= 0) return PlainError("--timeout: '" + o.timeout + "' is not a duration (e.g. 10m)");
  opt.timeout = std::chrono::duration_cast<std::chrono::seconds>(*timeout);
  auto interval = ParseDuration(o.interval);
  if (!interval || *interval < std::chrono::milliseconds(100)) {
    return PlainError("--interval: '" + o.interval + "' must be a duration of at least 100ms");
  }
  opt.interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
  auto hold = ParseDuration(o.hold);
  if (!hold) return PlainError("--hold: " + hold.error().context);
  opt.hold = std::chrono::duration_cast<std::chrono::milliseconds>(*hold);
  if (o.first_port < 1 || o.first_port > 65000) return PlainError("--first-port: must be 1-65000");
  if (o.proto != "raw" && o.proto != "ws") return PlainError("--proto '" + o.proto + "': expected raw or ws");
  if (o.tls_release_buffers && !o.tls) return PlainError("--tls-release-buffers needs --tls");
  if (o.tls_park && !o.tls) return PlainError("--tls-park needs --tls");
  opt.ws = o.proto == "ws";
  opt.tls = o.tls;
  opt.tls_release_buffers = o.tls_release_buffers;
  opt.watch_held = o.watch;
  opt.own_netns = !o.host_netns;
  if (!o.server.empty() && (o.watch || o.host_netns)) {
    return PlainError("--watch/--host-netns: for tcpmax's own engines; --server probes your server where it runs");
  }
  opt.tls_park = o.tls_park;
  if (opt.sessions()) {
    if (!o.server.empty()) return PlainError("--proto/--tls: for tcpmax's own engines, not with --server");
    if (opt.engine == Engine::kAuto) opt.engine = Engine::kEpoll;  // --engine uring: sessions on direct descriptors
  }
  opt.first_port = static_cast<uint16_t>(o.first_port);
  if (!o.html.empty()) {
    std::ofstream test(o.html, std::ios::app);
    if (!test) return PlainError(fmt::format("--html: cannot write '{}': {}", o.html, ErrnoText(errno)));
  }
  return opt;
}

// The --server flags on top of the common ones.
Result<probe::ServerProbeOptions> ValidateServer(const Options& o, const probe::ProbeOptions& common, CLI::App& app) {
  probe::ServerProbeOptions opt;
  if (o.max) return PlainError("--max: not with --server (give --target; the climb stops at the server's ceiling)");
  if (o.tune) return PlainError("--tune: not with --server (the server's own limits are what is measured)");
  if (app.count("--first-port") > 0) return PlainError("--first-port: not with --server (the server's ports are given)");
  int named = (o.pid != 0) + !o.exec.empty() + !o.cgroup.empty();
  if (named != 1) return PlainError("--server: name the server with exactly one of --pid, --exec, --cgroup");
  if (app.count("--pid") > 0 && o.pid <= 0) return PlainError(fmt::format("--pid: {} is not a process id", o.pid));
  opt.server = o.server;
  opt.pid = o.pid;
  opt.exec = o.exec;
  opt.cgroup = o.cgroup;
  opt.target = common.target;
  opt.engine = common.engine;
  opt.rate = common.rate;
  opt.reserve_percent = common.reserve_percent;
  opt.reserve_bytes = common.reserve_bytes;
  opt.max_memory_pressure = common.max_memory_pressure;
  opt.timeout = common.timeout;
  opt.interval = common.interval;
  opt.hold = common.hold;
  auto plateau = ParseDuration(o.plateau);
  if (!plateau || *plateau < std::chrono::milliseconds(500)) return PlainError("--plateau: '" + o.plateau + "' must be a duration of at least 500ms");
  opt.plateau_seconds = std::chrono::duration<double>(*plateau).count();
  auto grace = ParseDuration(o.grace);
  if (!grace) return PlainError("--grace: '" + o.grace + "' is not a duration (e.g. 3s)");
  opt.grace = std::chrono::duration_cast<std::chrono::milliseconds>(*grace);
  auto ready = ParseDuration(o.ready_timeout);
  if (!ready || ready->count() <= 0) return PlainError("--ready-timeout: '" + o.ready_timeout + "' is not a duration (e.g. 10s)");
  opt.ready_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*ready);
  return opt;
}

std::string ServerProgressLine(const probe::ServerSample& s, const probe::ServerReport& rep) {
  return fmt::format("probe: server holds {:>9} / {}  queued {}  closed by it {}  {:>7}/s  cpu {:.0f}%  {:.0f}s",
                     FormatCount(s.accepted), FormatCount(rep.target), FormatCount(s.queued),
                     FormatCount(s.closed_by_server), FormatCount(uint64_t(s.rate)), s.cpu_percent, s.t);
}

// `tcpmax probe --server`: the user's server.
int RunServerProbe(const Options& o, const probe::ProbeOptions& common, CLI::App& app, const std::atomic<bool>& stop) {
  auto opt = ValidateServer(o, common, app);
  if (!opt) return UsageError(kName, opt.error().context);
  sys::LiveReader reader;
  auto setup = probe::PrepareServer(*opt, reader);
  if (!setup) return UsageError(kName, setup.error().context);
  Progress progress;
  probe::ServerObserver obs;
  obs.on_phase = [&](std::string_view p) {
    progress.Finish();
    fmt::print(stderr, "probe: {}\n", p);
  };
  obs.on_sample = [&](const probe::ServerSample& s, const probe::ServerReport& rep) { progress.Update(ServerProgressLine(s, rep)); };
  obs.on_phase(fmt::format("server {} ({}), {} process(es)", setup->server->named_by,
                           setup->kind.name.empty() ? "not recognised" : setup->kind.name, setup->server->Pids().size()));
  auto rep = probe::RunServerProbe(*opt, *setup, obs, stop, reader);
  progress.Finish();
  if (!rep) return RuntimeError(kName, rep.error());
  if (o.json) {
    fmt::print("{}\n", report::ServerProbeToJson(*rep).dump(2));
  } else {
    fmt::print("{}", report::ServerProbeToText(*rep));
  }
  if (!o.html.empty()) {
    std::ofstream out(o.html, std::ios::trunc);
    out << report::ServerProbeToHtml(*rep);
    if (!out) return RuntimeError(kName, Error{errno, "write " + o.html});
    fmt::print(stderr, "probe: HTML report written to {}\n", o.html);
  }
  if (rep->verified && !rep->verification_ok) {
    fmt::print(stderr, "tcpmax probe: VERIFICATION FAILED: {}\n", rep->verification_detail);
  }
  return rep->failed() ? kExitFailure : kExitOk;
}

std::string ProgressLine(const probe::Sample& s, const probe::ProbeReport& rep) {
  return fmt::format("probe: {:>9} / {} held  {:>7}/s  kernel {:>9}  errors {}  {:.0f}s", FormatCount(s.established),
                     FormatCount(rep.plan.target), FormatCount(uint64_t(s.rate)), FormatBytes(double(s.kernel)),
                     FormatCount(s.failed), s.t);
}

}  // namespace

int RunProbe(int argc, char** argv) {
  CLI::App app{
      "Find this box's real TCP connection ceiling: predict it (as tcpmax limits does), then climb on loopback with\n"
      "serve and load shards until the target, a limit, or the memory reserve; verify both ends with the kernel;\n"
      "measure kernel and user-space bytes per connection; report predicted vs measured. Traffic stays on\n"
      "127.0.0.0/8; every shard is stopped and every changed sysctl restored on exit, including on Ctrl-C.\n"
      "With --server ADDR:PORTS and --pid, --exec or --cgroup: how many connections YOUR server holds, what stops it\n"
      "(its fd limit, its own connection cap, its listen queue, memory, CPU, an idle timeout) with the evidence and\n"
      "the setting to change, and what each connection costs it in user and kernel memory.\n"
      "Exit: 0 done, 1 failed (an error, or a verification that disagrees), 2 bad input or a target refused.",
      std::string(kName)};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  std::string metrics_addr;
  AddMetricsFlag(app, metrics_addr);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  // First: from here on a closed stdout or stderr must not kill the run.
  const std::atomic<bool>& stop = StopOnSignals();
  auto opt = Validate(o);
  if (!opt) return UsageError(kName, opt.error().context);
  if (!metrics_addr.empty()) {
    if (auto at = ParseMetricsFlag(metrics_addr); !at) return UsageError(kName, at.error().context);
    if (!o.server.empty()) return UsageError(kName, "--metrics is not available with --server yet");
  }
  if (o.server.empty() && (o.pid != 0 || !o.exec.empty() || !o.cgroup.empty())) {
    return UsageError(kName, "--pid, --exec and --cgroup name the server of --server ADDR:PORTS; give --server too");
  }
  if (!o.server.empty()) return RunServerProbe(o, *opt, app, stop);
  if (auto raised = sys::RaiseNofileToHard(); !raised) return RuntimeError(kName, raised.error());
  if (opt->tune) {
    // Takes the run lock and undoes what a killed run left changed before
    // Prepare reads the values --tune starts from.
    if (auto journal = sys::RunJournal(sys::LockMode::kExclusive); !journal) return RuntimeError(kName, journal.error());
  }
  sys::LiveReader reader;
  auto setup = probe::Prepare(*opt, reader);
  if (!setup) return UsageError(kName, setup.error().context);

  auto metrics_server = StartMetrics(kName, metrics_addr);
  if (!metrics_server) return RuntimeError(kName, metrics_server.error());
  Progress progress;
  probe::ProbeObserver obs;
  obs.on_phase = [&](std::string_view p) {
    progress.Finish();
    fmt::print(stderr, "probe: {}\n", p);
  };
  obs.on_sample = [&](const probe::Sample& s, const probe::ProbeReport& rep) {
    if (*metrics_server) (*metrics_server)->Publish(metrics::ProbeMetrics(s));
    progress.Update(ProgressLine(s, rep));
  };
  if (setup->prediction.known) {
    obs.on_phase(fmt::format("predicted {} connections, bound by {}", FormatCount(setup->prediction.ceiling),
                             setup->prediction.binding_limit));
  }
  auto rep = probe::RunProbe(*opt, *setup, obs, stop, reader);
  progress.Finish();
  if (!rep) return RuntimeError(kName, rep.error());

  if (o.json) {
    fmt::print("{}\n", report::ProbeToJson(*rep).dump(2));
  } else {
    fmt::print("{}", report::ProbeToText(*rep));
  }
  if (!o.html.empty()) {
    std::ofstream out(o.html, std::ios::trunc);
    out << report::ProbeToHtml(*rep);
    if (!out) return RuntimeError(kName, Error{errno, "write " + o.html});
    fmt::print(stderr, "probe: HTML report written to {}\n", o.html);
  }
  if (rep->verified && !rep->verification.ok) {
    fmt::print(stderr, "tcpmax probe: VERIFICATION FAILED: {}\n", rep->verification.problem);
  }
  return rep->failed() ? kExitFailure : kExitOk;
}

}  // namespace tcpmax::cli

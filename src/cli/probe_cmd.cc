// tcpmax probe: the main job. Predicts the ceiling (limits), then climbs to it
// on loopback with serve and load shards, and reports predicted vs measured.
#include <unistd.h>

#include <atomic>
#include <climits>
#include <fstream>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/units.h"
#include "sys/uring_support.h"
#include "limits/ceiling.h"
#include "limits/snapshot.h"
#include "probe/runner.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/text_report.h"
#include "sys/reader.h"
#include "sys/rlimit.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "probe";
// Kernel bytes per loopback connection (both ends) used to size --max before
// anything is measured: the slab growth this project measured on Linux 6.18
// (8,068 B per connection at 2.8M connections; see bench/RESULTS.md).
constexpr double kPlanBytesPerConnection = 8000;

struct Options {
  std::string target = "100k";
  bool max = false;
  std::string engine = "auto";
  bool tune = false;
  std::string reserve = "10%";
  std::string rate;
  std::string timeout = "10m";
  std::string interval = "250ms";
  bool json = false;
  std::string html;
  std::string hold = "0s";
  int first_port = 7000;
};

// Fills the prediction from `tcpmax limits`' model: the whole-box inbound
// ceiling with both ends of each connection on this box.
void Predict(const probe::Plan& plan, probe::ProbeReport& rep) {
  sys::LiveReader reader;
  limits::Snapshot snap = limits::ReadSnapshot(reader);
  limits::Scenario sc;
  sc.loopback = true;
  sc.listen_ports = plan.ports;
  sc.processes = std::max(plan.serve_processes, plan.load_processes);
  limits::Ceiling c = limits::ComputeCeiling(snap, sc);
  const limits::Verdict& box = c.inbound.box;
  if (box.ceiling) rep.predicted_ceiling = *box.ceiling;
  if (const limits::Finding* f = c.inbound.Find(box.binding)) rep.predicted_binding = f->limit;
  rep.predicted_explain = box.arithmetic;
  for (const limits::Finding& f : c.inbound.findings) {
    // Thread limits bind thread-per-connection servers; the probe's shards are not.
    if (!f.allows || f.scope == limits::Scope::kInfo || f.scope == limits::Scope::kThreads) continue;
    rep.predicted.push_back({f.limit, *f.allows, f.id == box.binding});
  }
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
      "tcpmax serve and tcpmax load shards until the target, a limit, or the memory reserve; measure kernel and\n"
      "user-space bytes per connection; report predicted vs measured. Traffic stays on 127.0.0.0/8; every shard\n"
      "is stopped and every changed sysctl restored on exit, including on Ctrl-C.",
      std::string(kName)};
  ConfigureApp(app);
  Options o;
  app.add_option("--target", o.target, "connections to open and hold (units: 100k, 2M)");
  app.add_flag("--max", o.max, "climb until a limit binds or MemAvailable reaches the reserve (sizes the plan from memory)");
  app.add_option("--engine", o.engine,
                 "auto | epoll | uring (auto: epoll shards, one serve process per group of ports; "
                 "uring: io_uring direct descriptors, one process per side)");
  app.add_flag("--tune", o.tune,
               "raise fs.file-max, epoll watches, somaxconn, syn backlog, port range, conntrack for the run; restore after");
  app.add_option("--reserve", o.reserve, "stop before MemAvailable falls under this share of RAM (at least 512 MiB)");
  app.add_option("--rate", o.rate, "connections/s for load (default: as fast as it goes)");
  app.add_option("--timeout", o.timeout, "stop the climb after this long (30s, 10m)");
  app.add_option("--interval", o.interval, "sampling interval");
  app.add_option("--hold", o.hold, "keep the connections this long at the peak before teardown (inspect with tcpmax count)");
  app.add_option("--first-port", o.first_port, "server ports start here (127.0.0.1:PORT and up)");
  app.add_flag("--json", o.json, "print the report as JSON (schema tcpmax.probe/1, see docs/probe.md)");
  app.add_option("--html", o.html, "also write a self-contained HTML report with charts to FILE");
  if (auto code = ParseArgs(app, argc, argv)) return *code;

  probe::ProbeOptions opt;
  auto target = ParseCount(o.target);
  if (!target || *target == 0) return UsageError(kName, "--target: " + (target ? "must be at least 1" : target.error().context));
  opt.target = *target;
  opt.max = o.max;
  auto engine = probe::ParseEngine(o.engine);
  if (!engine) return UsageError(kName, "--engine: " + engine.error().context);
  opt.engine = *engine;
  opt.tune = o.tune;
  auto reserve = ParsePercent(o.reserve);
  if (!reserve) return UsageError(kName, "--reserve: " + reserve.error().context);
  opt.reserve_percent = *reserve;
  if (!o.rate.empty()) {
    auto rate = ParseRate(o.rate);
    if (!rate || *rate <= 0) return UsageError(kName, "--rate: '" + o.rate + "' is not a positive rate (e.g. 20k/s)");
    opt.rate = *rate;
  }
  auto timeout = ParseDuration(o.timeout);
  if (!timeout || timeout->count() <= 0) return UsageError(kName, "--timeout: '" + o.timeout + "' is not a duration (e.g. 10m)");
  opt.timeout = std::chrono::duration_cast<std::chrono::seconds>(*timeout);
  auto interval = ParseDuration(o.interval);
  if (!interval || *interval < std::chrono::milliseconds(100)) {
    return UsageError(kName, "--interval: '" + o.interval + "' must be a duration of at least 100ms");
  }
  opt.interval = std::chrono::duration_cast<std::chrono::milliseconds>(*interval);
  auto hold = ParseDuration(o.hold);
  if (!hold) return UsageError(kName, "--hold: " + hold.error().context);
  opt.hold = std::chrono::duration_cast<std::chrono::milliseconds>(*hold);
  if (o.first_port < 1 || o.first_port > 65000) return UsageError(kName, "--first-port: must be 1-65000");
  opt.first_port = static_cast<uint16_t>(o.first_port);
  if (!o.html.empty()) {
    std::ofstream test(o.html, std::ios::app);
    if (!test) return UsageError(kName, fmt::format("--html: cannot write '{}': {}", o.html, ErrnoText(errno)));
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return RuntimeError(kName, Error{errno, "readlink /proc/self/exe"});
  opt.binary.assign(self, static_cast<size_t>(n));

  (void)sys::RaiseNofileToHard();
  sys::LiveReader reader;
  auto box = probe::ReadBoxFacts(reader);
  if (!box) return RuntimeError(kName, box.error());
  sys::UringSupport uring = sys::DetectUring();
  box->uring_direct = uring.ok();
  box->uring_reason = uring.reason;
  if (opt.max) {
    opt.target = probe::MaxModeTarget(*box, opt.reserve_percent, kPlanBytesPerConnection);
    if (opt.target == 0) return RuntimeError(kName, Error{0, "MemAvailable is already under the reserve"});
  }

  const std::atomic<bool>& stop = StopOnSignals();

  Progress progress;
  probe::ProbeObserver obs;
  obs.on_phase = [&](std::string_view p) {
    progress.Finish();
    fmt::print(stderr, "probe: {}\n", p);
  };
  obs.on_sample = [&](const probe::Sample& s, const probe::ProbeReport& rep) { progress.Update(ProgressLine(s, rep)); };
  auto rep = probe::RunProbe(opt, *box, obs, stop);
  progress.Finish();
  if (!rep) return RuntimeError(kName, rep.error());
  Predict(rep->plan, *rep);

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
  if (rep->stop_reason == "error") return kExitFailure;
  return kExitOk;
}

}  // namespace tcpmax::cli

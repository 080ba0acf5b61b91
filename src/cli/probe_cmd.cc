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
#include "core/units.h"
#include "probe/runner.h"
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
  std::string pressure = "40%";
  std::string rate;
  std::string timeout = "10m";
  std::string interval = "250ms";
  bool json = false;
  std::string html;
  std::string hold = "0s";
  int first_port = 7000;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--target", o.target, "connections to open and hold (units: 100k, 2M)");
  app.add_flag("--max", o.max, "climb until a limit binds or usable memory reaches the reserve (sizes the plan from memory)");
  app.add_option("--engine", o.engine,
                 "auto | epoll | uring (auto: epoll shards, one serve process per group of ports; "
                 "uring: io_uring direct descriptors, one process per side)");
  app.add_flag("--tune", o.tune,
               "raise fs.file-max, epoll watches, somaxconn, syn backlog, port range, conntrack for the run; restore after");
  app.add_option("--reserve", o.reserve, "stop before usable memory falls under this share of RAM (at least 512 MiB)");
  app.add_option("--memory-pressure", o.pressure,
                 "stop when the box stalls on memory: PSI memory 'some' avg10 at or over this share (1-100%)");
  app.add_option("--rate", o.rate, "connections/s for load (default: as fast as it goes)");
  app.add_option("--timeout", o.timeout, "stop the climb after this long (30s, 10m)");
  app.add_option("--interval", o.interval, "sampling interval (at least 100ms)");
  app.add_option("--hold", o.hold, "keep the connections this long at the peak before teardown (inspect with tcpmax count)");
  app.add_option("--first-port", o.first_port, "server ports start here (127.0.0.1:PORT and up)");
  app.add_flag("--json", o.json, "print the report as JSON (schema tcpmax.probe/2, see docs/probe.md)");
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
  auto reserve = ParsePercent(o.reserve);
  if (!reserve) return PlainError("--reserve: " + reserve.error().context);
  if (*reserve <= 0 || *reserve >= 100) return PlainError("--reserve: '" + o.reserve + "' must be between 0% and 100%");
  opt.reserve_percent = *reserve;
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
  opt.first_port = static_cast<uint16_t>(o.first_port);
  if (!o.html.empty()) {
    std::ofstream test(o.html, std::ios::app);
    if (!test) return PlainError(fmt::format("--html: cannot write '{}': {}", o.html, ErrnoText(errno)));
  }
  return opt;
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
  }
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

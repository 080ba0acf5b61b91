// tcpmax serve: hold, echo or answer HTTP on many connections; print what was
// held, accepted and closed, and the user-space memory per held connection.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/clock.h"
#include "core/units.h"
#include "limits/errno_class.h"
#include "serve/listener.h"
#include "serve/server.h"
#include "sys/uring_support.h"

namespace tcpmax::cli {
namespace {

using serve::ServeEngine;
using serve::ServeMode;
using serve::ServeSnapshot;

struct ServeFlags {
  std::string listen = "127.0.0.1:7000";
  std::string engine = "auto";
  std::string mode = "hold";
  int workers = 0;
  int backlog = 0;
  std::string max_conns;
  std::string duration;
  std::string interval = "1s";
  bool json = false;
  bool progress_json = false;
};

struct ServeRun {
  serve::ServeOptions options;
  uint64_t duration_ns = 0;  // 0 = until SIGINT/SIGTERM
  uint64_t interval_ns = 1'000'000'000;
  std::string engine_note;    // why not uring, when auto fell back to epoll
};

// Soft RLIMIT_NOFILE up to the hard limit: the epoll engine needs one fd per
// connection, and each io_uring table may have as many slots as the limit.
void RaiseNofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::optional<std::string> Validate(const ServeFlags& f, ServeRun* run) {
  auto eps = serve::ParseListenSpec(f.listen);
  if (!eps) return eps.error().context;
  run->options.listen = *eps;
  if (f.mode == "hold") run->options.mode = ServeMode::kHold;
  else if (f.mode == "echo") run->options.mode = ServeMode::kEcho;
  else if (f.mode == "http") run->options.mode = ServeMode::kHttp;
  else return "--mode '" + f.mode + "': expected hold, echo or http";
  if (f.engine != "auto" && f.engine != "epoll" && f.engine != "uring")
    return "--engine '" + f.engine + "': expected auto, epoll or uring";
  if (f.workers < 0 || f.workers > 1024) return "--workers " + std::to_string(f.workers) + ": expected 1-1024";
  run->options.workers = f.workers > 0 ? f.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (f.backlog < 0) return "--backlog " + std::to_string(f.backlog) + ": must be positive";
  run->options.backlog = f.backlog;
  if (!f.max_conns.empty()) {
    auto n = ParseCount(f.max_conns);
    if (!n || *n == 0) return "--max-conns '" + f.max_conns + "': expected a positive count like 100k";
    run->options.max_conns = *n;
  }
  if (!f.duration.empty()) {
    auto d = ParseDuration(f.duration);
    if (!d || d->count() <= 0) return "--duration '" + f.duration + "': expected a duration like 30s";
    run->duration_ns = static_cast<uint64_t>(d->count());
  }
  auto iv = ParseDuration(f.interval);
  if (!iv || iv->count() < 10'000'000) return "--interval '" + f.interval + "': expected a duration of at least 10ms";
  run->interval_ns = static_cast<uint64_t>(iv->count());
  return std::nullopt;
}

// Picks the engine; an explicit --engine uring that cannot work is an Error.
Result<ServeEngine> ChooseEngine(const std::string& flag, std::string* note) {
  if (flag == "epoll") return ServeEngine::kEpoll;
  sys::UringSupport u = sys::DetectUring();
  if (u.ok()) return ServeEngine::kUring;
  if (flag == "uring") return PlainError("--engine uring: io_uring cannot be used: " + u.reason);
  *note = "io_uring unavailable (" + u.reason + "); using epoll";
  return ServeEngine::kEpoll;
}

nlohmann::json ErrorsJson(const limits::ErrorCounts& errors) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, n] : errors.ByKey()) j[key] = n;
  return j;
}

std::vector<std::string> ListenStrings(const serve::Server& s) {
  std::vector<std::string> out;
  for (const Endpoint& ep : s.endpoints()) out.push_back(ep.ToString());
  return out;
}

void PrintJsonLine(const nlohmann::json& j) {
  std::string line = j.dump() + "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

// One progress sample: JSON line or the human status line.
void Report(bool json, Progress& progress, double t, const ServeSnapshot& s, double rate, uint64_t rss) {
  if (json) {
    PrintJsonLine({{"type", "progress"}, {"t", t}, {"held", s.held()}, {"accepted", s.accepted},
                   {"closed", s.closed}, {"errors", ErrorsJson(s.errors)}, {"rss_bytes", rss},
                   {"accept_rate", rate}, {"rings", s.rings}, {"table_full", s.table_full}});
    return;
  }
  progress.Update(fmt::format("serve {:.0f}s  held {}  accepted {} (+{}/s)  closed {}  errors {}  rss {}", t,
                              FormatCount(s.held()), FormatCount(s.accepted), FormatShort(rate),
                              FormatCount(s.closed), FormatCount(s.errors.Total()), FormatBytes(double(rss))));
}

struct Outcome {
  ServeSnapshot at_stop;
  uint64_t held_before_stop = 0;
  uint64_t peak_held = 0;
  uint64_t rss_start = 0;
  uint64_t rss_before_stop = 0;
  double seconds = 0;
  std::string stop_reason;
};

// Samples every interval until a signal or the duration; then stops the server.
Outcome RunUntilStopped(serve::Server& server, const ServeRun& run, bool json) {
  Outcome o;
  o.rss_start = serve::ResidentBytes();
  Progress progress;
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  uint64_t start = MonotonicNanos();
  uint64_t next = start + run.interval_ns;
  uint64_t last_accepted = 0, last_t = start;
  for (;;) {
    uint64_t now = MonotonicNanos();
    uint64_t until = next;
    if (run.duration_ns != 0) until = std::min(until, start + run.duration_ns);
    uint64_t wait = until > now ? until - now : 0;
    timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    int sig = sigtimedwait(&stop_signals, nullptr, &ts);
    now = MonotonicNanos();
    if (sig == SIGINT || sig == SIGTERM) {
      o.stop_reason = sig == SIGINT ? "SIGINT" : "SIGTERM";
      break;
    }
    if (run.duration_ns != 0 && now >= start + run.duration_ns) {
      o.stop_reason = "duration";
      break;
    }
    if (now < next) continue;
    ServeSnapshot s = server.Snapshot();
    o.peak_held = std::max(o.peak_held, s.held());
    double rate = double(s.accepted - last_accepted) / (double(now - last_t) / 1e9);
    last_accepted = s.accepted;
    last_t = now;
    Report(json, progress, double(now - start) / 1e9, s, rate, serve::ResidentBytes());
    next += run.interval_ns;
    if (next <= now) next = now + run.interval_ns;
  }
  ServeSnapshot before = server.Snapshot();
  o.held_before_stop = before.held();
  o.peak_held = std::max(o.peak_held, o.held_before_stop);
  o.rss_before_stop = serve::ResidentBytes();
  o.seconds = double(MonotonicNanos() - start) / 1e9;
  server.Stop();
  o.at_stop = server.Snapshot();
  progress.Finish();
  return o;
}

nlohmann::json SummaryJson(const serve::Server& server, const ServeRun& run, const Outcome& o) {
  const ServeSnapshot& s = o.at_stop;
  nlohmann::json j = {
      {"engine", serve::ToString(run.options.engine)}, {"mode", serve::ToString(run.options.mode)},
      {"listen", ListenStrings(server)}, {"workers", run.options.workers}, {"backlog", server.backlog()},
      {"duration_s", o.seconds}, {"stop_reason", o.stop_reason}, {"held", o.held_before_stop},
      {"peak_held", o.peak_held}, {"accepted", s.accepted}, {"closed", s.closed}, {"resets", s.resets},
      {"rejected", s.rejected}, {"errors", ErrorsJson(s.errors)}, {"rss_bytes", o.rss_before_stop},
      {"rss_start_bytes", o.rss_start}};
  if (run.options.engine == ServeEngine::kUring) {
    j["rings"] = s.rings;
    j["table_full"] = s.table_full;
  }
  if (o.held_before_stop > 0) {
    double delta = double(o.rss_before_stop) - double(o.rss_start);
    j["user_bytes_per_held"] = std::max(0.0, delta) / double(o.held_before_stop);
  }
  if (!run.engine_note.empty()) j["engine_note"] = run.engine_note;
  return j;
}

void PrintSummaryText(const nlohmann::json& j, const limits::ErrorCounts& errors) {
  fmt::print("serve ({} engine, {} mode, {} workers) ran {:.1f}s, stopped by {}\n",
             j["engine"].get<std::string>(), j["mode"].get<std::string>(), j["workers"].get<int>(),
             j["duration_s"].get<double>(), j["stop_reason"].get<std::string>());
  fmt::print("  held      {} at stop (peak {})\n", FormatCount(j["held"]), FormatCount(j["peak_held"]));
  fmt::print("  accepted  {}   closed {} (peer resets {}, rejected by --max-conns {})\n",
             FormatCount(j["accepted"]), FormatCount(j["closed"]), FormatCount(j["resets"]),
             FormatCount(j["rejected"]));
  if (j.contains("rings"))
    fmt::print("  rings     {} io_uring rings (dropped, table full: {})\n", FormatCount(j["rings"]),
               FormatCount(j["table_full"]));
  std::string per_conn = j.contains("user_bytes_per_held")
                             ? fmt::format(", {:.1f} B per held connection", j["user_bytes_per_held"].get<double>())
                             : std::string();
  fmt::print("  memory    rss {} (start {}){}\n", FormatBytes(j["rss_bytes"].get<double>()),
             FormatBytes(j["rss_start_bytes"].get<double>()), per_conn);
  if (errors.Total() == 0) {
    fmt::print("  errors    none\n");
    return;
  }
  for (const auto& [code, n] : errors.ByClass())
    fmt::print("  error     {} x{}: {} -> {}\n", limits::ErrorKey(code), FormatCount(n), limits::ErrorMeaning(code),
               limits::ErrorRemedy(code));
}

}  // namespace

int RunServe(int argc, char** argv) {
  CLI::App app{"Hold, echo or answer HTTP on inbound TCP connections (epoll or io_uring direct descriptors)",
               "serve"};
  ConfigureApp(app);
  ServeFlags f;
  app.add_option("--listen", f.listen, "ADDR:PORT[,...] or ADDR:LO-HI port ranges; [::1]:PORT for IPv6; port 0 = any");
  app.add_option("--engine", f.engine, "auto (uring when it works, else epoll), epoll or uring");
  app.add_option("--mode", f.mode, "hold (read and discard), echo, or http (keep-alive 200 OK)");
  app.add_option("--workers", f.workers, "worker threads, each with its own SO_REUSEPORT listeners (0 = one per core)");
  app.add_option("--backlog", f.backlog, "listen backlog (0 = net.core.somaxconn; capped at it)");
  app.add_option("--max-conns", f.max_conns, "hold at most this many connections (e.g. 100k); more are reset");
  app.add_option("--duration", f.duration, "stop after this long (e.g. 30s); default: until SIGINT/SIGTERM");
  app.add_option("--interval", f.interval, "progress interval (e.g. 1s, 200ms)");
  app.add_flag("--json", f.json, "print the final summary as one JSON object on stdout");
  app.add_flag("--progress-json", f.progress_json, "progress as JSON lines on stderr (ready, then progress)");
  if (auto code = ParseArgs(app, argc, argv)) return *code;

  ServeRun run;
  if (auto err = Validate(f, &run)) return UsageError("serve", *err);
  RaiseNofile();
  auto engine = ChooseEngine(f.engine, &run.engine_note);
  if (!engine) return RuntimeError("serve", engine.error());
  run.options.engine = *engine;

  // Workers inherit this mask, so SIGINT/SIGTERM reach only sigtimedwait here.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = serve::Server::Start(run.options);
  if (!server) return RuntimeError("serve", server.error());
  std::vector<std::string> listen = ListenStrings(**server);
  if (f.progress_json) {
    nlohmann::json ready = {{"type", "ready"}, {"listen", listen}, {"engine", serve::ToString(run.options.engine)},
                            {"mode", serve::ToString(run.options.mode)}, {"workers", run.options.workers},
                            {"pid", getpid()}};
    if (!run.engine_note.empty()) ready["engine_note"] = run.engine_note;
    PrintJsonLine(ready);
  } else {
    if (!run.engine_note.empty()) fmt::print(stderr, "tcpmax serve: {}\n", run.engine_note);
    std::string joined;
    for (const auto& l : listen) joined += (joined.empty() ? "" : ",") + l;
    fmt::print(stderr, "tcpmax serve: listening on {} (engine {}, mode {}, {} workers, backlog {})\n", joined,
               serve::ToString(run.options.engine), serve::ToString(run.options.mode), run.options.workers,
               (*server)->backlog());
    std::fflush(stderr);
  }

  Outcome o = RunUntilStopped(**server, run, f.progress_json);
  nlohmann::json summary = SummaryJson(**server, run, o);
  if (f.json) {
    fmt::print("{}\n", summary.dump());
  } else {
    PrintSummaryText(summary, o.at_stop.errors);
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace tcpmax::cli

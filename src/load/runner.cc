#include "load/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "core/clock.h"
#include "load/connector.h"
#include "sys/netns.h"
#include "sys/process.h"
#include "sys/rlimit.h"
#include "sys/sysctl.h"
#include "sys/uring_support.h"

namespace tcpmax::load {
namespace {

constexpr uint64_t kFdReserve = 64;  // descriptors kept for everything but connections
// Connects in flight over the whole run: enough to keep both cores busy,
// few enough that the server's accept queues (somaxconn per listener) do
// not overflow and drop SYNs, which would turn into 1 s / 3 s retransmits.
constexpr uint64_t kRunInflight = 8192;

void SleepNanos(uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000ull), static_cast<long>(ns % 1'000'000'000ull)};
  ::nanosleep(&ts, nullptr);
}

// Tracks the rate over the last interval and the one-shot kDone event.
class Ticker {
 public:
  Ticker(const LoadTick& tick, uint64_t start) : tick_(tick), last_ns_(start) {}
  // Emits progress when `progress` is set; kDone as soon as the ramp is over.
  void Tick(const LoadStats& s, uint64_t now, bool progress) {
    if (progress) {
      double dt = static_cast<double>(now - last_ns_) / 1e9;
      double rate = dt > 0 ? static_cast<double>(s.opened - last_opened_) / dt : 0;
      last_ns_ = now;
      last_opened_ = s.opened;
      if (tick_) tick_(LoadEvent::kProgress, s, rate);
    }
    if (!done_ && s.ramp_done()) {
      done_ = true;
      done_ns_ = now;
      double rate = s.ramp_seconds > 0 ? static_cast<double>(s.opened) / s.ramp_seconds : 0;
      if (tick_) tick_(LoadEvent::kDone, s, rate);
    }
  }
  bool done() const { return done_; }
  uint64_t done_ns() const { return done_ns_; }

 private:
  const LoadTick& tick_;
  uint64_t last_ns_;
  uint64_t last_opened_ = 0;
  bool done_ = false;
  uint64_t done_ns_ = 0;
};

bool HoldOver(const LoadOptions& o, const Ticker& t, uint64_t now) {
  return t.done() && o.hold_ns.has_value() && now - t.done_ns() >= *o.hold_ns;
}

// What one process of the run does: its workers, their reports, its totals.
struct LocalRun {
  std::vector<WorkerPlan> plans;
  std::vector<WorkerReport> reports;
  uint64_t rss_start = 0, anon_start = 0, start = 0;

  LocalRun(const LoadRun& run, int shard, const std::atomic<bool>* stop_opening, const std::atomic<int>* pace)
      : plans(run.workers), reports(run.workers) {
    const LoadOptions& o = run.options;
    uint64_t stride = static_cast<uint64_t>(run.processes) * static_cast<uint64_t>(run.workers);
    for (int w = 0; w < run.workers; ++w) {
      uint64_t first = static_cast<uint64_t>(shard) * run.workers + w;
      WorkerPlan& p = plans[w];
      p.plan = &run.plan;
      p.first = first;
      p.stride = stride;
      p.count = first < o.connections ? (o.connections - first + stride - 1) / stride : 0;
      p.rate = o.rate / static_cast<double>(stride);
      p.connect_timeout_ns = o.connect_timeout_ns;
      p.ping_interval_ns = o.ping_interval_ns;
      p.watch_held = o.watch_held;
      p.max_inflight = std::max<uint64_t>(32, kRunInflight / stride);
      p.stop_opening = stop_opening;
      p.session = &o.session;
      p.pace = pace;
      if (o.hold_target > 0) {
        uint64_t share = first < o.hold_target ? (o.hold_target - first + stride - 1) / stride : 0;
        p.max_held = share;
        if (share == 0) p.count = 0;  // nothing of the target is this worker's
      }
    }
    rss_start = sys::ResidentBytes().value_or(0);
    anon_start = sys::AnonResidentBytes().value_or(0);
    start = MonotonicNanos();
  }

  LoadStats Total() const {
    LoadStats s;
    for (const WorkerReport& r : reports) s.Merge(r.Read());
    s.target = 0;
    for (const WorkerPlan& p : plans) s.target += p.count;
    s.rss_bytes = sys::ResidentBytes().value_or(0);
    s.rss_start_bytes = rss_start;
    s.anon_bytes = sys::AnonResidentBytes().value_or(0);
    s.anon_start_bytes = anon_start;
    s.t = SecondsSince(start);
    return s;
  }
};

// Runs shard `shard` of the run with its workers in this process, ticking
// every `interval_ns`, until `stop` (or, with own_hold, the hold is over).
LoadStats RunLocal(const LoadRun& run, int shard, const std::atomic<bool>& stop,
                   const std::atomic<bool>* stop_opening, uint64_t interval_ns, const LoadTick& tick, bool own_hold,
                   const std::atomic<uint64_t>* report_requests = nullptr, const std::atomic<int>* pace = nullptr) {
  LocalRun local(run, shard, stop_opening, pace);
  std::atomic<bool> worker_stop{false};
  std::vector<std::thread> threads;
  // Joined on every way out, an exception included (a joinable thread's
  // destructor would call std::terminate).
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinOnExit() {
      stop = true;
      for (std::thread& t : threads)
        if (t.joinable()) t.join();
    }
  } join_on_exit{worker_stop, threads};
  auto work = run.options.engine == Engine::kUring ? RunUringWorker : RunEpollWorker;
  {
    sys::BlockStopSignals block;  // the workers inherit it
    for (int w = 0; w < run.workers; ++w) {
      threads.emplace_back([&, w] {
        // --netns: this worker's sockets live there; the process's other
        // channels (a launcher's, the metrics listener) stay where they are.
        auto scope = sys::NetnsScope::Enter(run.options.netns);
        if (scope) work(local.plans[w], worker_stop, local.reports[w]);
      });
    }
  }
  Ticker ticker(tick, local.start);
  uint64_t next = local.start + interval_ns;
  uint64_t answered = 0;
  while (!stop.load() && !(own_hold && HoldOver(run.options, ticker, MonotonicNanos()))) {
    uint64_t now = MonotonicNanos();
    bool progress = now >= next;
    if (progress) next += interval_ns * ((now - next) / interval_ns + 1);
    if (report_requests != nullptr && report_requests->load() != answered) {
      answered = report_requests->load();
      progress = true;  // the supervisor asked for a report now
    }
    if (progress || !ticker.done()) ticker.Tick(local.Total(), now, progress);
    uint64_t nap = report_requests != nullptr ? 5'000'000 : 20'000'000;
    SleepNanos(std::min<uint64_t>(next - std::min(next, MonotonicNanos()), nap));
  }
  LoadStats before_close = local.Total();  // what was held when the stop came
  worker_stop = true;
  for (std::thread& t : threads) t.join();
  LoadStats final_stats = local.Total();
  final_stats.rss_bytes = before_close.rss_bytes;
  final_stats.anon_bytes = before_close.anon_bytes;
  return final_stats;
}

LoadStats Sum(const std::vector<sys::ShardReport>& reports) {
  LoadStats s;
  for (const sys::ShardReport& r : reports) s.Merge(FromShardReport(r));
  return s;
}

// Runs the shards in forked children and sums their reports.
Result<LoadStats> RunSharded(const LoadRun& run, const std::atomic<bool>& stop, const LoadTick& tick) {
  const LoadOptions& o = run.options;
  uint64_t child_interval = std::min<uint64_t>(o.interval_ns, 200'000'000);
  auto set = sys::ShardSet::Start(run.processes, [&](int shard, sys::ShardChannel& channel) {
    return RunShard(run, shard, channel, child_interval);
  });
  if (!set) return tl::unexpected(set.error());
  sys::ShardSet& shards = **set;
  uint64_t start = MonotonicNanos();
  uint64_t parent_rss_start = sys::ResidentBytes().value_or(0);
  uint64_t parent_anon_start = sys::AnonResidentBytes().value_or(0);
  auto total = [&](sys::ShardKind kind) {
    LoadStats s = Sum(shards.LatestAll(kind));
    s.rss_bytes += sys::ResidentBytes().value_or(0);  // this process too: RSS is summed over all of them
    s.rss_start_bytes += parent_rss_start;
    s.anon_bytes += sys::AnonResidentBytes().value_or(0);
    s.anon_start_bytes += parent_anon_start;
    s.t = SecondsSince(start);
    return s;
  };
  Ticker ticker(tick, start);
  uint64_t next = start + o.interval_ns;
  int open = run.processes;
  while (open > 0 && !stop.load() && !HoldOver(o, ticker, MonotonicNanos())) {
    uint64_t now = MonotonicNanos();
    bool progress = now >= next;
    if (progress) next += o.interval_ns * ((now - next) / o.interval_ns + 1);
    if (progress || !ticker.done()) {
      LoadStats s = total(sys::ShardKind::kProgress);
      if (static_cast<int>(shards.LatestAll(sys::ShardKind::kProgress).size()) < run.processes) {
        s.target = o.connections;
      }
      ticker.Tick(s, now, progress);
    }
    uint64_t wait = std::min<uint64_t>(next - std::min(next, MonotonicNanos()), 20'000'000);
    open = shards.Poll(static_cast<int>(wait / 1'000'000) + 1);
  }
  LoadStats held = total(sys::ShardKind::kProgress);
  shards.Command(sys::ShardCommand::kStop);
  shards.Wait(60'000);
  size_t reported = shards.LatestAll(sys::ShardKind::kFinal).size();
  if (static_cast<int>(reported) < run.processes) {
    return PlainError("only " + std::to_string(reported) + " of " + std::to_string(run.processes) +
                      " load processes reported");
  }
  LoadStats final_stats = total(sys::ShardKind::kFinal);
  final_stats.rss_bytes = held.rss_bytes;
  final_stats.anon_bytes = held.anon_bytes;
  return final_stats;
}

int PlanProcesses(const LoadOptions& o, uint64_t soft_nofile) {
  if (o.processes > 0) return o.processes;
  if (o.engine == Engine::kUring) return 1;
  uint64_t per = soft_nofile > 2 * kFdReserve ? soft_nofile - kFdReserve : soft_nofile / 2 + 1;
  return static_cast<int>(std::max<uint64_t>(1, (o.connections + per - 1) / per));
}

}  // namespace

Result<LoadRun> PlanLoad(LoadOptions o) {
  if (o.targets.empty()) return PlainError("no target to connect to");
  LoadRun run;
  auto raised = sys::RaiseNofileToHard();
  if (!raised) return tl::unexpected(raised.error());
  run.soft_nofile = raised->soft;
  if (o.session.active() && o.engine == Engine::kAuto) {
    run.engine_note = "the session layer (--proto/--tls/--message) runs on epoll unless --engine uring";
    o.engine = Engine::kEpoll;
  }
  if (o.engine == Engine::kAuto || o.engine == Engine::kUring) {
    sys::UringSupport uring = sys::DetectUringConnect();
    if (!uring.connect_ok() && o.engine == Engine::kUring) {
      return PlainError("io_uring cannot be used here: " + uring.reason);
    }
    if (!uring.connect_ok()) run.engine_note = "io_uring unavailable (" + uring.reason + "); using epoll";
    o.engine = uring.connect_ok() ? Engine::kUring : Engine::kEpoll;
  }
  run.processes = PlanProcesses(o, run.soft_nofile);
  if (run.processes > kMaxProcesses) {
    return PlainError(std::to_string(o.connections) + " connections need " + std::to_string(run.processes) +
                      " processes at " + std::to_string(run.soft_nofile) +
                      " descriptors each; at most " + std::to_string(kMaxProcesses) +
                      " (use --engine uring, or raise the hard RLIMIT_NOFILE)");
  }
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  run.workers = o.workers > 0 ? o.workers : static_cast<int>(std::max<long>(1, cores / run.processes));
  std::string port_range;
  {
    auto scope = sys::NetnsScope::Enter(o.netns);  // fail here, not in every worker
    if (!scope) return tl::unexpected(scope.error());
    if (o.explicit_ports) {
      auto r = sys::ReadLiveSysctl("net.ipv4.ip_local_port_range");
      if (!r) return tl::unexpected(r.error());
      port_range = *r;
    }
  }
  auto plan = SourcePlan::Make(o.sources, o.targets, o.connections, o.source_window);
  if (!plan) return tl::unexpected(plan.error());
  if (o.explicit_ports) {
    unsigned lo = 0, hi = 0;
    if (std::sscanf(port_range.c_str(), "%u %u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535) {
      return PlainError("net.ipv4.ip_local_port_range '" + port_range + "' is not two ports");
    }
    uint32_t span = hi - lo + 1;
    if (plan->max_per_pair() > span) {
      // EINVAL: the caller's request, not the box, is wrong (the CLI exits 2).
      return ErrnoError(EINVAL, fmt::format("--bind-ports: {} connections per (source, target) pair need more than "
                                            "the {} ports of net.ipv4.ip_local_port_range ({}-{}); add sources or "
                                            "targets",
                                            plan->max_per_pair(), span, lo, hi));
    }
    plan->UseExplicitPorts(static_cast<uint16_t>(lo), span);
  }
  run.plan = std::move(*plan);
  run.options = std::move(o);
  return run;
}

Result<LoadStats> RunLoad(const LoadRun& run, const std::atomic<bool>& stop, const LoadTick& tick) {
  if (run.processes == 1) return RunLocal(run, 0, stop, nullptr, run.options.interval_ns, tick, true);
  return RunSharded(run, stop, tick);
}

int RunShard(const LoadRun& run, int shard, sys::ShardChannel& channel, uint64_t interval_ns) {
  LoadTick report = [&](LoadEvent, const LoadStats& s, double) {
    sys::ShardReport r = ToShardReport(s, sys::ShardKind::kProgress);
    r.opening_stopped = channel.stop_opening().load();
    r.answers = channel.report_requests().load();
    channel.Send(r);
  };
  LoadStats s = RunLocal(run, shard, channel.stop(), &channel.stop_opening(), interval_ns, report, false,
                         &channel.report_requests(), &channel.pace());
  sys::ShardReport final_report = ToShardReport(s, sys::ShardKind::kFinal);
  final_report.opening_stopped = channel.stop_opening().load();
  return channel.Send(final_report) ? 0 : 1;
}

}  // namespace tcpmax::load

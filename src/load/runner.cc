#include "load/runner.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "core/clock.h"
#include "load/connector.h"
#include "sys/shard.h"

namespace tcpmax::load {
namespace {

constexpr uint64_t kFdReserve = 64;  // descriptors kept for everything but connections
constexpr int kMaxProcesses = 512;
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

// Runs shard `shard` of `shards` with `workers` threads in this process.
LoadStats RunLocal(const LoadOptions& o, const SourcePlan& plan, int shard, int shards, int workers,
                   const std::atomic<bool>& stop, const LoadTick& tick, bool own_hold) {
  uint64_t stride = static_cast<uint64_t>(shards) * static_cast<uint64_t>(workers);
  std::vector<WorkerPlan> plans(workers);
  std::vector<WorkerReport> reports(workers);
  for (int w = 0; w < workers; ++w) {
    uint64_t first = static_cast<uint64_t>(shard) * workers + w;
    WorkerPlan& p = plans[w];
    p.plan = &plan;
    p.first = first;
    p.stride = stride;
    p.count = first < o.connections ? (o.connections - first + stride - 1) / stride : 0;
    p.rate = o.rate / static_cast<double>(stride);
    p.connect_timeout_ns = o.connect_timeout_ns;
    p.ping_interval_ns = o.ping_interval_ns;
    p.max_inflight = std::max<uint64_t>(32, kRunInflight / stride);
  }
  std::atomic<bool> worker_stop{false};
  uint64_t rss_start = ReadRssBytes();
  uint64_t anon_start = ReadAnonRssBytes();
  std::vector<std::thread> threads;
  auto run = o.engine == LoadEngine::kUring ? RunUringWorker : RunEpollWorker;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] { run(plans[w], worker_stop, reports[w]); });
  }
  uint64_t start = MonotonicNanos();
  auto total = [&] {
    LoadStats s;
    for (const WorkerReport& r : reports) s.Merge(r.Read());
    s.target = 0;
    for (const WorkerPlan& p : plans) s.target += p.count;
    s.rss_bytes = ReadRssBytes();
    s.rss_start_bytes = rss_start;
    s.anon_bytes = ReadAnonRssBytes();
    s.anon_start_bytes = anon_start;
    s.t = SecondsSince(start);
    return s;
  };
  Ticker ticker(tick, start);
  uint64_t next = start + o.interval_ns;
  while (!stop.load() && !(own_hold && HoldOver(o, ticker, MonotonicNanos()))) {
    uint64_t now = MonotonicNanos();
    bool progress = now >= next;
    if (progress) next += o.interval_ns * ((now - next) / o.interval_ns + 1);
    if (progress || !ticker.done()) ticker.Tick(total(), now, progress);
    SleepNanos(std::min<uint64_t>(next - std::min(next, MonotonicNanos()), 20'000'000));
  }
  LoadStats before_close = total();  // what was held when the stop came
  worker_stop = true;
  for (std::thread& t : threads) t.join();
  LoadStats final_stats = total();
  final_stats.rss_bytes = before_close.rss_bytes;
  final_stats.anon_bytes = before_close.anon_bytes;
  return final_stats;
}

// Runs `processes` forked shards and sums their reports.
Result<LoadStats> RunSharded(const LoadOptions& o, const SourcePlan& plan, int processes, int workers,
                             const std::atomic<bool>& stop, const LoadTick& tick) {
  LoadOptions child = o;
  child.interval_ns = std::min<uint64_t>(o.interval_ns, 200'000'000);
  auto set = sys::ShardSet::Start(processes, [&](int shard, sys::ShardWriter& out) {
    LoadTick report = [&](LoadEvent, const LoadStats& s, double) { out.Write(ToShardJson(s, false)); };
    LoadStats s = RunLocal(child, plan, shard, processes, workers, stop, report, false);
    out.Write(ToShardJson(s, true));
    return 0;
  });
  if (!set) return tl::unexpected(set.error());
  sys::ShardSet& shards = **set;
  uint64_t start = MonotonicNanos();
  uint64_t parent_rss_start = ReadRssBytes();
  uint64_t parent_anon_start = ReadAnonRssBytes();
  auto total = [&](const char* type) {
    LoadStats s;
    for (const nlohmann::json& j : shards.LatestAll(type)) {
      if (auto one = FromShardJson(j)) s.Merge(*one);
    }
    s.rss_bytes += ReadRssBytes();  // this process too: RSS is summed over all of them
    s.rss_start_bytes += parent_rss_start;
    s.anon_bytes += ReadAnonRssBytes();
    s.anon_start_bytes += parent_anon_start;
    s.t = SecondsSince(start);
    return s;
  };
  Ticker ticker(tick, start);
  uint64_t next = start + o.interval_ns;
  int open = processes;
  while (open > 0 && !stop.load() && !HoldOver(o, ticker, MonotonicNanos())) {
    uint64_t now = MonotonicNanos();
    bool progress = now >= next;
    if (progress) next += o.interval_ns * ((now - next) / o.interval_ns + 1);
    if (progress || !ticker.done()) {
      LoadStats s = total("shard");
      if (static_cast<int>(shards.LatestAll("shard").size()) < processes) s.target = o.connections;
      ticker.Tick(s, now, progress);
    }
    uint64_t wait = std::min<uint64_t>(next - std::min(next, MonotonicNanos()), 20'000'000);
    open = shards.Poll(static_cast<int>(wait / 1'000'000) + 1);
  }
  LoadStats held = total("shard");
  shards.Signal(SIGTERM);
  shards.Wait(60'000);
  LoadStats final_stats = total("final");
  if (static_cast<int>(shards.LatestAll("final").size()) < processes) {
    return PlainError("only " + std::to_string(shards.LatestAll("final").size()) + " of " +
                      std::to_string(processes) + " load processes reported");
  }
  final_stats.rss_bytes = held.rss_bytes;
  final_stats.anon_bytes = held.anon_bytes;
  return final_stats;
}

}  // namespace

uint64_t RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

int PlanProcesses(const LoadOptions& o) {
  if (o.processes > 0) return o.processes;
  if (o.engine == LoadEngine::kUring) return 1;
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  uint64_t per = rl.rlim_cur > 2 * kFdReserve ? rl.rlim_cur - kFdReserve : rl.rlim_cur / 2 + 1;
  uint64_t p = (o.connections + per - 1) / per;
  return static_cast<int>(std::clamp<uint64_t>(p, 1, kMaxProcesses));
}

int PlanWorkers(const LoadOptions& o, int processes) {
  if (o.workers > 0) return o.workers;
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<int>(std::max<long>(1, cores / processes));
}

Result<LoadStats> RunLoad(const LoadOptions& o, const std::atomic<bool>& stop, const LoadTick& tick) {
  auto plan = SourcePlan::Make(o.sources, o.targets, o.connections);
  if (!plan) return tl::unexpected(plan.error());
  int processes = PlanProcesses(o);
  int workers = PlanWorkers(o, processes);
  if (processes == 1) return RunLocal(o, *plan, 0, 1, workers, stop, tick, true);
  return RunSharded(o, *plan, processes, workers, stop, tick);
}

}  // namespace tcpmax::load

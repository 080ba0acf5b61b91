#include "probe/runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/units.h"
#include "limits/errno_class.h"
#include "limits/snapshot.h"
#include "load/runner.h"
#include "probe/memory_guard.h"
#include "probe/own_netns.h"
#include "proto/tls.h"
#include "proto/tls_cert.h"
#include "probe/shard_totals.h"
#include "probe/verdict.h"
#include "serve/run.h"
#include "sys/process.h"
#include "sys/reader.h"
#include "sys/shard.h"
#include "sys/slabinfo.h"
#include "sys/sockstat.h"
#include "sys/sysctl.h"
#include "sys/uring_support.h"

namespace tcpmax::probe {
namespace {

constexpr uint64_t kReadyTimeoutNs = 15'000'000'000ull;
constexpr uint64_t kSettleTimeoutNs = 60'000'000'000ull;
constexpr uint64_t kReportTimeoutNs = 5'000'000'000ull;
constexpr int kShardWaitMs = 60'000;

// New connections held per second over the last second or more of samples.
double HeldRate(const std::vector<Sample>& prev, const Sample& now) {
  for (auto it = prev.rbegin(); it != prev.rend(); ++it) {
    double dt = now.t - it->t;
    if (dt >= 1.0 || std::next(it) == prev.rend()) {
      if (dt <= 0) return 0;
      return double(now.established > it->established ? now.established - it->established : 0) / dt;
    }
  }
  return 0;
}

void Fit(ProbeReport& rep) {
  std::vector<Point> kernel, slab, socket_slab;
  double serve_user = 0, load_user = 0, held = 0;
  for (const Sample& s : rep.samples) {
    kernel.push_back({double(s.established), double(s.kernel)});
    slab.push_back({double(s.established), double(s.slab)});
    socket_slab.push_back({double(s.established), double(s.socket_slab)});
    if (double(s.established) > held) {
      held = double(s.established);
      serve_user = double(s.anon_serve);
      load_user = double(s.anon_load);
    }
  }
  rep.kernel_fit = FitLine(kernel);
  rep.slab_fit = FitLine(slab);
  rep.socket_slab_fit = FitLine(socket_slab);
  const Sample* first = rep.samples.empty() ? nullptr : &rep.samples.front();
  if (held > 0 && first != nullptr) {
    // User-space bytes per connection: anonymous memory growth from the first sample.
    rep.user_bytes_serve = std::max(0.0, serve_user - double(first->anon_serve)) / held;
    rep.user_bytes_load = std::max(0.0, load_user - double(first->anon_load)) / held;
  }
  // Kernel cost: the larger of the two views (conservative). Slab growth counts
  // every kernel object of a socket, reclaimable ones (dentry) included; the
  // MemAvailable drop sees what the box can no longer use but moves with any
  // other process on the box.
  rep.kernel_bytes = std::max(rep.kernel_fit.valid() ? rep.kernel_fit.slope : 0.0,
                              rep.slab_fit.valid() ? rep.slab_fit.slope : 0.0);
  double per_conn = rep.kernel_bytes > 0 ? rep.kernel_bytes + rep.user_bytes_serve + rep.user_bytes_load : 0;
  if (per_conn > 0 && rep.mem_available_start > rep.reserve_bytes) {
    rep.projected_by_memory = static_cast<uint64_t>(double(rep.mem_available_start - rep.reserve_bytes) / per_conn);
  }
}

ProbeReport NewReport(const ProbeOptions& opt, const ProbeSetup& setup) {
  ProbeReport rep;
  rep.max_mode = opt.max;
  rep.tuned = opt.tune;
  rep.kernel = setup.box.kernel;
  rep.cores = setup.box.cores;
  rep.mem_total = setup.box.mem_total;
  rep.mem_available_start = setup.box.mem_available;
  rep.reserve_bytes = setup.reserve_bytes;
  rep.target = setup.target;
  rep.plan = setup.plan;
  rep.engine = fmt::format("serve {}, load {}", EngineName(setup.plan.serve_engine), EngineName(setup.plan.load_engine));
  rep.watched = opt.watched();
  if (!rep.watched) {
    rep.engine += "; held connections unwatched (a close by either end is seen only by the verification's count)";
  }
  if (opt.sessions()) {
    rep.engine += fmt::format("; sessions: {}{}{}{}", opt.ws ? "WebSocket" : "raw", opt.tls ? " over TLS" : "",
                              opt.tls_release_buffers ? " (buffers released)" : "",
                              opt.tls_park ? " (idle sessions parked)" : "");
  }
  if (!setup.box.uring_direct && !setup.box.uring_reason.empty()) rep.notes.push_back("io_uring: " + setup.box.uring_reason);
  const Prediction& p = setup.prediction;
  rep.predicted_ceiling = p.ceiling;
  rep.predicted_binding_id = p.binding_id;
  rep.predicted_binding = p.binding_limit;
  rep.predicted_explain = p.arithmetic;
  rep.predicted_notes = p.notes;
  rep.predicted = p.limits;
  return rep;
}

// The running climb: both shard sets and what the supervisor learned.
class Climb {
 public:
  Climb(const ProbeOptions& opt, const ProbeSetup& setup, const ProbeObserver& obs, ProbeReport& rep)
      : opt_(opt), setup_(setup), obs_(obs), rep_(rep) {}

  Result<void> StartServe();
  Result<void> StartLoad();
  // Samples until a stop rule fires; returns the decision.
  StopDecision Run(const MemoryGuard& guard, const std::atomic<bool>& stop);
  // Stops opening and waits until every answer is in, so both ends can be counted.
  void Settle(const std::atomic<bool>& stop);
  bool FreshReports(const std::atomic<bool>& stop);
  void Hold(const std::atomic<bool>& stop);
  void Verify(const std::atomic<bool>& stop);
  void Teardown();

 private:
  void Phase(std::string_view p) {
    if (obs_.on_phase) obs_.on_phase(p);
  }
  void PollAll(int timeout_ms) {
    if (serve_) serve_->Poll(0);
    if (load_) load_->Poll(timeout_ms);
  }
  std::optional<StopDecision> TakeSample(const MemoryGuard& guard, uint64_t start, const std::atomic<bool>& stop);
  // Slabinfo before the load shards start, and at the peak (Verify).
  std::optional<sys::Slabinfo> slab_before_, slab_peak_;

 public:
  void SnapshotSlab(bool peak) {
    if (auto s = sys::ReadSlabinfo(sys::LiveReader())) (peak ? slab_peak_ : slab_before_) = std::move(*s);
  }
  void ShareSlabAtPeak() {
    if (slab_before_ && slab_peak_ && rep_.reached > 0) rep_.slab_share = ShareSlab(*slab_before_, *slab_peak_, rep_.reached);
  }

 private:
  void StopOpening() {
    if (!stop_opening_sent_ && load_) load_->Command(sys::ShardCommand::kStopOpening);
    stop_opening_sent_ = true;
  }

  const ProbeOptions& opt_;
  const ProbeSetup& setup_;
  const ProbeObserver& obs_;
  ProbeReport& rep_;
  std::unique_ptr<sys::ShardSet> serve_, load_;
  load::LoadRun load_run_;
  ClimbState state_;
  bool stop_opening_sent_ = false;
  std::optional<uint64_t> attempted_at_trip_;
  double last_sample_t_ = 0;
};

namespace {

// --proto ws / --tls: what the serve shards speak (a self-signed identity
// made in memory, shared by the forked shards).
Result<serve::SessionSetup> ServeSessions(const ProbeOptions& opt) {
  serve::SessionSetup s;
  s.ws = opt.ws;
  if (!opt.tls) return s;
  auto pem = proto::MakeSelfSigned("localhost");
  if (!pem) return tl::unexpected(pem.error());
  proto::TlsConfig c;
  c.server = true;
  c.cert_pem = pem->cert_pem;
  c.key_pem = pem->key_pem;
  c.release_buffers = opt.tls_release_buffers;
  c.park = opt.tls_park;
  auto ctx = proto::TlsContext::Create(c);
  if (!ctx) return tl::unexpected(ctx.error());
  s.tls = std::move(*ctx);
  return s;
}

// The load side of the same sessions: TLS not verified (our own self-signed
// server on loopback).
load::SessionOptions LoadSessions(const ProbeOptions& opt) {
  load::SessionOptions s;
  s.proto = opt.ws ? proto::Proto::kWs : proto::Proto::kRaw;
  s.tls = opt.tls;
  s.tls_config.insecure = true;
  s.tls_config.release_buffers = opt.tls_release_buffers;
  s.tls_config.park = opt.tls_park;
  return s;
}

}  // namespace

Result<void> Climb::StartServe() {
  const Plan& plan = setup_.plan;
  Phase(fmt::format("starting {} serve shard(s) on {}", plan.serve_processes, plan.TargetSpec()));
  uint64_t interval = static_cast<uint64_t>(opt_.interval.count()) * 1'000'000;
  int workers = static_cast<int>(std::max(1u, setup_.box.cores / plan.serve_processes));
  auto session = ServeSessions(opt_);
  if (!session) return tl::unexpected(session.error());
  sys::ShardOptions so{opt_.shard_nice, true};
  auto set = sys::ShardSet::Start(static_cast<int>(plan.serve_processes), [&](int i, sys::ShardChannel& ch) {
    serve::ServeOptions o;
    o.listen = plan.ListenEndpoints(static_cast<unsigned>(i));
    o.engine = plan.serve_engine;
    o.mode = serve::ServeMode::kHold;
    o.workers = workers;
    o.session = *session;
    o.watch_held = opt_.watched();
    return serve::RunShard(o, ch, interval);
  }, so);
  if (!set) return tl::unexpected(set.error());
  serve_ = std::move(*set);
  uint64_t deadline = MonotonicNanos() + kReadyTimeoutNs;
  while (serve_->LatestAll(sys::ShardKind::kReady).size() < plan.serve_processes) {
    serve_->Poll(50);
    if (std::string why = ShardFailure(*serve_, "serve"); !why.empty()) return PlainError(why);
    if (MonotonicNanos() > deadline) return PlainError("serve shards did not report ready within 15 s");
  }
  return {};
}

Result<void> Climb::StartLoad() {
  const Plan& plan = setup_.plan;
  load::LoadOptions o;
  o.targets = plan.Targets();
  o.sources = {plan.source_range};
  o.connections = plan.target;
  o.rate = opt_.rate;
  o.hold_ns = std::nullopt;
  o.engine = plan.load_engine;
  o.processes = static_cast<int>(plan.load_processes);
  o.workers = static_cast<int>(std::max(1u, setup_.box.cores / plan.load_processes));
  o.interval_ns = static_cast<uint64_t>(opt_.interval.count()) * 1'000'000;
  o.session = LoadSessions(opt_);
  o.watch_held = opt_.watched();
  // In the probe's own namespace nothing else binds a port: each connection
  // gets its port without connect()'s search (SourcePlan::UseExplicitPorts).
  o.explicit_ports = rep_.netns_buckets > 0;
  auto run = load::PlanLoad(std::move(o));
  if (!run) return tl::unexpected(run.error());
  load_run_ = std::move(*run);
  Phase(fmt::format("opening {} connections from {} with {} load shard(s)", FormatCount(plan.target),
                    plan.SourceSpec(), load_run_.processes));
  sys::ShardOptions so{opt_.shard_nice, true};
  uint64_t interval = load_run_.options.interval_ns;
  auto set = sys::ShardSet::Start(load_run_.processes, [&](int i, sys::ShardChannel& ch) {
    return load::RunShard(load_run_, i, ch, interval);
  }, so);
  if (!set) return tl::unexpected(set.error());
  load_ = std::move(*set);
  return {};
}

std::optional<StopDecision> Climb::TakeSample(const MemoryGuard& guard, uint64_t start,
                                              const std::atomic<bool>& stop) {
  for (const auto* side : {&serve_, &load_}) {
    std::string why = ShardFailure(**side, side == &serve_ ? "serve" : "load");
    if (!why.empty()) return StopDecision{StopReason::kError, why};
  }
  auto mem = guard.Read();
  if (!mem) return StopDecision{StopReason::kError, "memory guard: " + mem.error().ToString()};
  if (mem->tripped) {
    StopOpening();  // at once: the shards obey before the supervisor does anything else
    if (!attempted_at_trip_) attempted_at_trip_ = Sum(*load_).attempted;
  }
  SideTotals sv = Sum(*serve_), ld = Sum(*load_);
  const MemoryReading& base = guard.baseline();
  Sample s;
  s.t = SecondsSince(start);
  if (rep_.samples.empty()) {
    // The baseline: the shards as started, before their connections.
    rep_.samples.push_back(Sample{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, base.files, mem->usable});
  }
  s.established = std::min(sv.held, ld.held);
  s.opened = ld.opened;
  s.failed = ld.failed;
  s.rate = HeldRate(rep_.samples, s);
  s.mem_used = int64_t(base.available) - int64_t(mem->reading.available);
  s.slab = int64_t(mem->reading.slab) - int64_t(base.slab);
  s.socket_slab = int64_t(mem->reading.socket_slab) - int64_t(base.socket_slab);
  s.anon_serve = sv.anon_growth;
  s.anon_load = ld.anon_growth;
  s.file_nr = mem->reading.files;
  s.usable = mem->usable;
  s.memory_pressure = mem->pressure.value_or(0);
  const Sample& first = rep_.samples.front();
  s.kernel = s.mem_used - (int64_t(s.anon_serve + s.anon_load) - int64_t(first.anon_serve + first.anon_load));
  rep_.max_sample_gap_seconds = std::max(rep_.max_sample_gap_seconds, s.t - last_sample_t_);
  last_sample_t_ = s.t;
  rep_.samples.push_back(s);
  rep_.errors.clear();
  for (const auto& [key, n] : ld.errors.ByKey()) rep_.errors[key] = n;
  rep_.reached = std::max(rep_.reached, s.established);
  rep_.peak_rate = std::max(rep_.peak_rate, s.rate);
  if (obs_.on_sample) obs_.on_sample(s, rep_);

  ClimbRules rules;
  rules.target = setup_.plan.target;
  rules.reserve_bytes = setup_.reserve_bytes;
  rules.max_pressure = opt_.max_memory_pressure;
  rules.timeout_seconds = double(opt_.timeout.count());
  Observation o;
  o.t = s.t;
  o.held = s.established;
  o.usable_bytes = s.usable;
  o.memory_pressure = mem->pressure.value_or(0);
  o.connect_errors = ld.errors.Total() > 0;
  o.attempts_done = ld.reporting == static_cast<size_t>(load_->size()) && ld.attempts_done;
  o.interrupted = stop.load();
  return CheckStop(rules, state_, o);
}

StopDecision Climb::Run(const MemoryGuard& guard, const std::atomic<bool>& stop) {
  return SampleOnSchedule(
      static_cast<uint64_t>(opt_.interval.count()) * 1'000'000, stop, [&](int ms) { PollAll(ms); },
      [&](uint64_t start) { return TakeSample(guard, start, stop); }, &rep_.climb_seconds);
}

// Fresh reports from every shard of both sides, answering one request.
bool Climb::FreshReports(const std::atomic<bool>& stop) {
  uint64_t sv = serve_->RequestReports(), ld = load_->RequestReports();
  uint64_t deadline = MonotonicNanos() + kReportTimeoutNs;
  while (MonotonicNanos() < deadline && !stop.load()) {
    PollAll(20);
    if (serve_->Answered(sv) && load_->Answered(ld)) return true;
  }
  return false;
}

// Quiet means: every load shard stopped opening and has no connect in flight,
// and neither side's count moved between two fresh rounds of reports.
void Climb::Settle(const std::atomic<bool>& stop) {
  StopOpening();
  uint64_t deadline = MonotonicNanos() + kSettleTimeoutNs;
  std::optional<std::pair<uint64_t, uint64_t>> before;
  while (MonotonicNanos() < deadline && !stop.load()) {
    if (!FreshReports(stop)) continue;
    SideTotals sv = Sum(*serve_), ld = Sum(*load_);
    std::pair<uint64_t, uint64_t> now{sv.held, ld.held};
    bool quiet = ld.opening_stopped == static_cast<size_t>(load_->size()) && ld.inflight == 0;
    if (quiet && before == now) return;
    before = now;
    uint64_t pause = MonotonicNanos() + static_cast<uint64_t>(opt_.interval.count()) * 1'000'000;
    while (MonotonicNanos() < pause) PollAll(20);
  }
  rep_.notes.push_back("the shards did not settle within the settle time; the verification may see them move");
}

void Climb::Hold(const std::atomic<bool>& stop) {
  if (opt_.hold.count() <= 0) return;
  std::string where = rep_.netns_buckets > 0
                          ? fmt::format(" (in the probe's namespace: nsenter --net=/proc/{}/ns/net tcpmax count)", ::getpid())
                          : "";
  Phase(fmt::format("holding the connections for {}{}", FormatDuration(opt_.hold), where));
  uint64_t until = MonotonicNanos() + static_cast<uint64_t>(opt_.hold.count()) * 1'000'000;
  while (MonotonicNanos() < until && !stop.load()) PollAll(50);
}

void Climb::Verify(const std::atomic<bool>& stop) {
  FreshReports(stop);
  SideTotals sv = Sum(*serve_), ld = Sum(*load_);
  if (attempted_at_trip_) {
    rep_.guard_tripped = true;
    rep_.attempted_after_guard = ld.attempted > *attempted_at_trip_ ? ld.attempted - *attempted_at_trip_ : 0;
  }
  rep_.reached = std::max(rep_.reached, std::min(sv.held, ld.held));
  if (sv.held == 0 && ld.held == 0) return;
  SnapshotSlab(/*peak=*/true);
  ShareSlabAtPeak();
  Phase("verifying both ends with the kernel's count");
  rep_.verification = probe::Verify(setup_.plan, sv.held, ld.held);
  rep_.verified = true;
}

// Load first (it closes its sockets with SO_LINGER 0, sending RSTs that free
// the server side too), then serve.
void Climb::Teardown() {
  for (auto* side : {&load_, &serve_}) {
    if (!*side) continue;
    (*side)->Command(sys::ShardCommand::kStop);
    std::vector<int> codes = (*side)->Wait(kShardWaitMs);
    int killed = static_cast<int>(std::count(codes.begin(), codes.end(), 128 + SIGKILL));
    if (killed > 0) {
      rep_.notes.push_back(fmt::format("{} {} shard(s) did not stop within {} s and were killed", killed,
                                       side == &load_ ? "load" : "serve", kShardWaitMs / 1000));
    }
  }
}

}  // namespace

Result<ProbeSetup> Prepare(const ProbeOptions& opt, const sys::Reader& reader) {
  ProbeSetup s;
  auto box = ReadBoxFacts(reader);
  if (!box) return tl::unexpected(box.error());
  s.box = *box;
  sys::UringSupport uring = sys::DetectUring();
  s.box.uring_direct = uring.ok();
  s.box.uring_reason = uring.reason;
  s.reserve_bytes = ReserveBytes(s.box, opt.reserve_percent, opt.reserve_bytes);
  s.target = opt.target;
  if (opt.max) {
    s.target = MaxModeTarget(s.box, opt.reserve_percent, kPlanBytesPerConnection, opt.reserve_bytes);
    if (s.target == 0) {
      return PlainError(fmt::format("MemAvailable ({}) is already under the reserve ({})",
                                    FormatBytes(double(s.box.mem_available)), FormatBytes(double(s.reserve_bytes))));
    }
  }
  if (opt.tune) {
    auto wanted = Tuning::Wanted(s.target, reader);
    if (!wanted) return tl::unexpected(wanted.error());
    s.tuning = std::move(*wanted);
    // The plan sizes pairs from the port range the climb will run with.
    for (const Setting& t : s.tuning) {
      auto range = sys::ParseNumbers(t.value);
      if (t.name == "net.ipv4.ip_local_port_range" && range && range->size() == 2 && (*range)[1] >= (*range)[0]) {
        s.box.ephemeral_ports = static_cast<uint32_t>((*range)[1] - (*range)[0] + 1);
      }
    }
  }
  PlanInput in;
  in.target = s.target;
  in.nofile_hard = s.box.nofile_hard;
  in.ephemeral_ports = s.box.ephemeral_ports;
  in.uring_direct = s.box.uring_direct;
  in.engine = opt.engine;
  in.cores = s.box.cores;
  in.first_port = opt.first_port;
  auto plan = MakePlan(in);
  if (!plan) return tl::unexpected(plan.error());
  s.plan = *plan;
  uint64_t usable = 0;
  if (auto m = ReadMemory(reader)) usable = UsableMemory(*m, *m);
  s.prediction = Predict(limits::ReadSnapshot(reader), s.tuning, s.plan, s.reserve_bytes, usable,
                         opt.watched());
  if (!opt.max && s.prediction.known && s.target > s.prediction.ceiling) {
    return PlainError(fmt::format(
        "--target {}: this box holds about {} connections on loopback{} (bound by {}: {}); lower --target, "
        "add --tune, or use --max to climb to the ceiling",
        FormatCount(s.target), FormatCount(s.prediction.ceiling), opt.tune ? " even tuned" : "",
        s.prediction.binding_limit, s.prediction.arithmetic));
  }
  return s;
}

namespace {

// The climb's mean rate: connections held over the time it took to reach them.
double MeanRate(const std::vector<Sample>& samples) {
  if (samples.empty()) return 0;
  const Sample* peak = &samples.front();
  for (const Sample& s : samples)
    if (s.established > peak->established) peak = &s;
  return peak->t > 0 ? double(peak->established) / peak->t : 0;
}

// Names the binding limit; restores --tune and says so in the report.
void Conclude(ProbeReport& rep, std::optional<Tuning>& tuning) {
  Fit(rep);
  limits::ErrorCounts errors;
  for (const auto& [key, n] : rep.errors) errors.Add(limits::ErrnoFromKey(key), n);
  Verdict v = Decide(rep.stop_reason, errors);
  rep.binding_id = v.binding_id;
  rep.binding_limit = v.binding_limit;
  rep.remedy = v.remedy;
  if (tuning) {
    for (auto& line : tuning->changes()) rep.settings_changed.push_back(line);
    for (auto& line : tuning->Restore()) rep.settings_changed.push_back(line);
  }
}

// The shards are gone, but the kernel frees their sockets after them (an
// io_uring ring's descriptors, RSTs in flight): waits, at most a minute,
// until the box's allocated TCP sockets are back near where they were, so
// the next run on this box starts from the same memory.
void WaitSocketsFreed(uint64_t alloc_before, ProbeReport& rep) {
  constexpr uint64_t kWaitNs = 60'000'000'000ull;
  uint64_t margin = std::max<uint64_t>(1000, rep.reached / 100);
  uint64_t deadline = MonotonicNanos() + kWaitNs;
  for (;;) {
    auto ss = sys::ReadSockstat(sys::LiveReader());
    if (!ss || ss->tcp_alloc <= alloc_before + margin) return;
    if (MonotonicNanos() > deadline) {
      rep.notes.push_back(fmt::format("{} TCP sockets were still allocated a minute after teardown (before the climb: {})",
                                      FormatCount(ss->tcp_alloc), FormatCount(alloc_before)));
      return;
    }
    ::usleep(100'000);
  }
}

// Restores the sysctls on every way out of RunProbe.
struct RestoreOnExit {
  std::optional<Tuning>& t;
  ~RestoreOnExit() {
    if (t) t->Restore();
  }
};

}  // namespace

Result<ProbeReport> RunProbe(const ProbeOptions& opt, const ProbeSetup& setup, const ProbeObserver& obs,
                             const std::atomic<bool>& stop, const sys::Reader& memory) {
  ProbeReport rep = NewReport(opt, setup);
  auto phase = [&](std::string_view p) {
    if (obs.on_phase) obs.on_phase(p);
  };
  std::optional<Tuning> tuning;
  RestoreOnExit restore_on_exit{tuning};
  std::vector<Setting> host_settings = opt.tune ? setup.tuning : std::vector<Setting>{};
  if (opt.own_netns) {
    // Two sockets per connection, and the target is an upper bound of what
    // the climb opens (--max sizes it from memory).
    phase("creating the probe's network namespace");
    auto ns = EnterOwnNetns(2 * setup.target);
    if (!ns) {
      rep.notes.push_back("climbed in the host's network namespace: " + ns.error().ToString());
    } else {
      rep.netns_buckets = ns->buckets;
      rep.host_buckets = ns->host_buckets;
      rep.notes.push_back(fmt::format("climbed in a network namespace of the probe's own: established hash of {} "
                                      "buckets (the host's: {})",
                                      FormatCount(ns->buckets), FormatCount(ns->host_buckets)));
      for (auto& n : ns->notes) rep.notes.push_back(std::move(n));
      // Per-namespace settings go inside it and end with it: not journaled.
      std::vector<Setting> global;
      for (const Setting& s : host_settings) {
        if (!s.name.starts_with("net.")) {
          global.push_back(s);
          continue;
        }
        if (auto w = sys::WriteLiveSysctl(s.name, s.value); w) {
          rep.settings_changed.push_back(fmt::format("{}: {} -> {} (in the probe's namespace)", s.name, s.from, s.value));
          phase(fmt::format("set {}: {} -> {} in the probe's namespace", s.name, s.from, s.value));
        } else {
          rep.notes.push_back(fmt::format("{} not set in the probe's namespace: {}", s.name, w.error().ToString()));
        }
      }
      host_settings = std::move(global);
    }
  }
  if (!host_settings.empty()) {
    phase("tuning sysctls");
    auto t = Tuning::Apply(host_settings);
    if (!t) return tl::unexpected(t.error());
    tuning.emplace(std::move(*t));
    for (const auto& c : tuning->changes()) phase("set " + c);
  }
  if (auto r = sys::LockMemory(); !r) {
    rep.notes.push_back("the supervisor's memory is not locked (" + r.error().ToString() + ")");
  }
  // The supervisor samples hundreds of busy shards on a few cores: it runs
  // SCHED_FIFO (shards fork back to SCHED_OTHER), or at least at a lower nice.
  std::optional<sys::RealtimeScope> realtime;
  if (auto rt = sys::RealtimeScope::Enter(1)) {
    realtime.emplace(std::move(*rt));
  } else if (auto r = sys::SetNice(opt.supervisor_nice); !r) {
    rep.notes.push_back("the supervisor keeps its priority (" + rt.error().ToString() + "; " + r.error().ToString() +
                        "); samples may come late on a busy box");
  }
  // TCP sockets allocated on the box before the climb (sockstat "alloc" is
  // box-wide): teardown ends when the kernel has freed the climb's.
  uint64_t alloc_before = 0;
  if (auto ss = sys::ReadSockstat(sys::LiveReader())) alloc_before = ss->tcp_alloc;
  Climb climb(opt, setup, obs, rep);
  auto guard = [&]() -> Result<MemoryGuard> {
    if (auto r = climb.StartServe(); !r) return tl::unexpected(r.error());
    auto g = MemoryGuard::Start(memory, setup.reserve_bytes, opt.max_memory_pressure);
    if (!g) return g;
    climb.SnapshotSlab(/*peak=*/false);
    if (auto r = climb.StartLoad(); !r) return tl::unexpected(r.error());
    return g;
  }();
  if (!guard) {
    climb.Teardown();
    return tl::unexpected(guard.error());
  }
  StopDecision d = climb.Run(*guard, stop);
  rep.stop_reason = d.reason;
  rep.stop_detail = d.detail;
  rep.target_reached = d.reason == StopReason::kTarget;
  rep.mean_rate = MeanRate(rep.samples);
  if (d.reason != StopReason::kError) {
    phase("stopping the load shards from opening more; waiting for answers in flight");
    climb.Settle(stop);
    climb.Hold(stop);
    climb.Verify(stop);
  }
  phase("tearing down");
  uint64_t td = MonotonicNanos();
  climb.Teardown();
  WaitSocketsFreed(alloc_before, rep);
  rep.teardown_seconds = SecondsSince(td);
  Conclude(rep, tuning);
  return rep;
}

}  // namespace tcpmax::probe

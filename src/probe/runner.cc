#include "probe/runner.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/units.h"
#include "diag/count.h"
#include "limits/errno_class.h"
#include "probe/child.h"
#include "probe/tune.h"
#include "sys/file_nr.h"
#include "sys/meminfo.h"
#include "sys/reader.h"
#include "sys/slabinfo.h"
#include "sys/sysctl.h"

namespace tcpmax::probe {
namespace {

constexpr uint64_t kMinReserve = 512ull << 20;  // never plan to leave less than 512 MiB
constexpr double kStallSeconds = 10;             // no progress for this long with errors: a limit binds
constexpr double kIdleSeconds = 20;              // no progress at all for this long: stalled

struct Totals {
  uint64_t held = 0, opened = 0, failed = 0, rss = 0;
  double rate = 0;
  bool done = false;
  std::map<std::string, uint64_t> errors;
};

// Sums the latest "progress" line of each child.
Totals Sum(const std::vector<nlohmann::json>& latest) {
  Totals t;
  for (const auto& j : latest) {
    if (j.is_null()) continue;
    t.held += j.value("held", uint64_t{0});
    t.opened += j.value("opened", uint64_t{0});
    t.failed += j.value("failed", uint64_t{0});
    t.rss += j.value("rss_bytes", uint64_t{0});
    t.rate += j.value("rate", 0.0);
    if (j.contains("errors") && j["errors"].is_object()) {
      for (const auto& [k, v] : j["errors"].items()) t.errors[k] += v.get<uint64_t>();
    }
  }
  return t;
}

struct Memory {
  uint64_t available = 0, slab = 0, reclaimable = 0, file_nr = 0;
};

Memory ReadMemory(const sys::Reader& r) {
  Memory m;
  if (auto mi = sys::ReadMeminfo(r)) {
    m.available = mi->mem_available().value_or(0);
    m.slab = mi->Get("Slab").value_or(0);
    m.reclaimable = mi->Get("SReclaimable").value_or(0);
  }
  if (auto nr = sys::ReadFileNr(r)) m.file_nr = nr->allocated;
  return m;
}

uint64_t UsableNow(const Memory& base, const Memory& now, uint64_t pinned_per_file) {
  return UsableMemory({base.available, base.reclaimable, base.file_nr}, {now.available, now.reclaimable, now.file_nr},
                      pinned_per_file);
}

std::string DominantError(const std::map<std::string, uint64_t>& errors) {
  std::string best;
  uint64_t n = 0;
  for (const auto& [k, v] : errors) {
    if (v > n) {
      n = v;
      best = k;
    }
  }
  return best;
}

// New connections held per second over the last second or more of samples.
// Computed here from held counts, not summed from the shards' own rates (their
// intervals do not line up, so a sum can spike far above the truth).
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

// The climb's state, shared by the helpers of RunProbe.
struct Climb {
  std::vector<Child> serve;
  std::optional<Child> load;
  std::vector<nlohmann::json> serve_latest, load_latest;
  bool load_done = false;
};

void PollChildren(Climb& c, int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto& s : c.serve) fds.push_back({s.stderr_fd(), POLLIN, 0});
  if (c.load) fds.push_back({c.load->stderr_fd(), POLLIN, 0});
  poll(fds.data(), fds.size(), timeout_ms);
  for (size_t i = 0; i < c.serve.size(); ++i) {
    for (auto& j : c.serve[i].Poll()) {
      if (j.value("type", "") == "progress") c.serve_latest[i] = j;
    }
  }
  if (c.load) {
    for (auto& j : c.load->Poll()) {
      std::string type = j.value("type", "");
      if (type == "progress") c.load_latest[0] = j;
      if (type == "done") c.load_done = true;
    }
  }
}

std::string ChildFailure(Child& c) {
  std::string why = c.diagnostics().empty() ? "no message" : c.diagnostics().back();
  return fmt::format("{} exited with status {}: {}", c.label(), c.exit_status(), why);
}

Result<void> StartServe(const ProbeOptions& opt, const Plan& plan, Climb& c) {
  for (unsigned g = 0; g < plan.serve_processes; ++g) {
    std::vector<std::string> args = {"serve",   "--listen",        plan.ListenSpec(g),
                                     "--engine", std::string(EngineName(plan.serve_engine)),
                                     "--mode",   "hold",           "--progress-json",
                                     "--interval", fmt::format("{}ms", opt.interval.count())};
    auto child = Child::Spawn(opt.binary, args, fmt::format("serve[{}]", g));
    if (!child) return tl::unexpected(child.error());
    c.serve.push_back(std::move(*child));
    c.serve_latest.emplace_back();
  }
  // Wait until every shard listens.
  std::vector<bool> ready(c.serve.size(), false);
  uint64_t deadline = MonotonicNanos() + 15'000'000'000ull;
  while (std::count(ready.begin(), ready.end(), true) < static_cast<long>(ready.size())) {
    for (size_t i = 0; i < c.serve.size(); ++i) {
      for (auto& j : c.serve[i].Poll()) {
        if (j.value("type", "") == "ready") ready[i] = true;
      }
      if (!ready[i] && c.serve[i].Exited()) return PlainError(ChildFailure(c.serve[i]));
    }
    if (MonotonicNanos() > deadline) return PlainError("serve shards did not report ready within 15 s");
    usleep(20'000);
  }
  return {};
}

Result<void> StartLoad(const ProbeOptions& opt, const Plan& plan, Climb& c) {
  std::vector<std::string> args = {"load",
                                   plan.TargetSpec(),
                                   "--connections",
                                   std::to_string(plan.target),
                                   "--source",
                                   plan.SourceSpec(),
                                   "--engine",
                                   std::string(EngineName(plan.load_engine)),
                                   "--processes",
                                   std::to_string(plan.load_processes),
                                   "--hold",
                                   "forever",
                                   "--progress-json",
                                   "--interval",
                                   fmt::format("{}ms", opt.interval.count())};
  if (opt.rate > 0) {
    args.push_back("--rate");
    args.push_back(fmt::format("{:.0f}", opt.rate));
  }
  auto child = Child::Spawn(opt.binary, args, "load");
  if (!child) return tl::unexpected(child.error());
  c.load.emplace(std::move(*child));
  c.load_latest.emplace_back();
  return {};
}

// Ends the climb: load first (it closes its sockets with SO_LINGER 0, sending
// RSTs that free the server side too), then serve.
void Teardown(Climb& c) {
  if (c.load) {
    c.load->Signal(SIGTERM);
    c.load->Wait(60'000);
  }
  for (auto& s : c.serve) s.Signal(SIGTERM);
  for (auto& s : c.serve) s.Wait(60'000);
}

void Fit(ProbeReport& rep) {
  std::vector<Point> kernel, slab;
  double serve_rss = 0, load_rss = 0, held = 0;
  for (const Sample& s : rep.samples) {
    kernel.push_back({double(s.established), double(s.kernel)});
    slab.push_back({double(s.established), double(s.slab)});
    if (double(s.established) > held) {
      held = double(s.established);
      serve_rss = double(s.rss_serve);
      load_rss = double(s.rss_load);
    }
  }
  rep.kernel_fit = FitLine(kernel);
  rep.slab_fit = FitLine(slab);
  const Sample* first = rep.samples.empty() ? nullptr : &rep.samples.front();
  if (held > 0 && first != nullptr) {
    // User-space bytes per connection: RSS growth from the first sample.
    rep.user_bytes_serve = std::max(0.0, serve_rss - double(first->rss_serve)) / held;
    rep.user_bytes_load = std::max(0.0, load_rss - double(first->rss_load)) / held;
  }
}

// Established sockets on the server ports: the server side of every
// connection the probe holds, counted by the kernel (sock_diag).
uint64_t CountServerSide(const Plan& plan) {
  diag::Query q;
  q.states = 1u << diag::kEstablished;
  q.ipv6 = false;
  q.lports = {PortRange{plan.first_port, static_cast<uint16_t>(plan.first_port + plan.ports - 1)}};
  q.src = {Cidr{plan.server_ip, 32}};
  auto c = diag::Count(q);
  return c ? c->total : 0;
}

}  // namespace

uint64_t UsableMemory(const MemoryReading& start, const MemoryReading& now, uint64_t pinned_per_file) {
  uint64_t grew = now.reclaimable > start.reclaimable ? now.reclaimable - start.reclaimable : 0;
  uint64_t files = now.files > start.files ? now.files - start.files : 0;
  uint64_t pinned = std::min(grew, files * pinned_per_file);
  return now.available > pinned ? now.available - pinned : 0;
}

uint64_t PinnedBytesPerFile(const sys::Reader& reader) {
  constexpr uint64_t kFallback = 863 + 196;
  auto slabs = sys::ReadSlabinfo(reader);
  if (!slabs) return kFallback;
  auto inode = slabs->find("sock_inode_cache");
  auto dentry = slabs->find("dentry");
  if (inode == slabs->end() || dentry == slabs->end()) return kFallback;
  return static_cast<uint64_t>(inode->second.footprint() + dentry->second.footprint());
}

LimitName LimitFromErrorKey(std::string_view key) {
  int code = limits::ErrnoFromKey(key);
  std::string remedy(code != 0 ? limits::ErrorRemedy(code) : "");
  if (key == "EMFILE") return {"per-process file descriptors (RLIMIT_NOFILE)", remedy};
  if (key == "ENFILE") return {"fs.file-max (open files, whole box)", remedy};
  if (key == "EADDRNOTAVAIL") return {"ephemeral ports per (source, destination) pair", remedy};
  if (key == "ECONNREFUSED" || key == "ETIMEDOUT") return {"accept or SYN queue (somaxconn, tcp_max_syn_backlog)", remedy};
  if (key == "ENOBUFS") return {"kernel memory (tcp_mem or RAM)", remedy};
  return {fmt::format("{} errors", key), remedy};
}

Result<BoxFacts> ReadBoxFacts(const sys::Reader& r) {
  BoxFacts b;
  if (auto lim = r.GetRlimit(sys::RlimitKind::kNofile)) b.nofile_hard = lim->hard;
  if (auto range = sys::ReadSysctlNumbers(r, "net.ipv4.ip_local_port_range"); range && range->size() == 2) {
    b.ephemeral_ports = static_cast<uint32_t>((*range)[1] - (*range)[0] + 1);
  }
  b.cores = static_cast<unsigned>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  if (auto cpus = r.ReadFile("/sys/devices/system/cpu/online")) {
    // "0-1" or "0-3,5": count the CPUs listed.
    unsigned n = 0;
    std::string_view list = sys::Trim(*cpus);
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view part = list.substr(0, comma);
      size_t dash = part.find('-');
      unsigned lo = 0, hi = 0;
      std::from_chars(part.data(), part.data() + part.size(), lo);
      hi = lo;
      if (dash != std::string_view::npos) std::from_chars(part.data() + dash + 1, part.data() + part.size(), hi);
      n += hi >= lo ? hi - lo + 1 : 0;
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    if (n > 0) b.cores = n;
  }
  auto mi = sys::ReadMeminfo(r);
  if (!mi) return tl::unexpected(mi.error());
  b.mem_total = mi->mem_total().value_or(0);
  b.mem_available = mi->mem_available().value_or(0);
  if (auto rel = r.ReadFile("/proc/sys/kernel/osrelease")) b.kernel = std::string(sys::Trim(*rel));
  return b;
}

uint64_t ReserveBytes(const BoxFacts& box, double reserve_percent) {
  return std::max<uint64_t>(kMinReserve, static_cast<uint64_t>(double(box.mem_total) * reserve_percent / 100));
}

uint64_t MaxModeTarget(const BoxFacts& box, double reserve_percent, double bytes_per_conn) {
  uint64_t reserve = ReserveBytes(box, reserve_percent);
  if (box.mem_available <= reserve || bytes_per_conn <= 0) return 0;
  // Plan 25% beyond the estimate: the climb stops at the reserve anyway.
  return static_cast<uint64_t>(double(box.mem_available - reserve) / bytes_per_conn * 1.25);
}

Result<ProbeReport> RunProbe(const ProbeOptions& opt, const BoxFacts& box, const ProbeObserver& obs,
                             const std::atomic<bool>& stop) {
  auto phase = [&](std::string_view p) {
    if (obs.on_phase) obs.on_phase(p);
  };
  ProbeReport rep;
  rep.max_mode = opt.max;
  rep.tuned = opt.tune;
  rep.kernel = box.kernel;
  rep.cores = box.cores;
  rep.mem_total = box.mem_total;
  rep.mem_available_start = box.mem_available;
  rep.reserve_bytes = ReserveBytes(box, opt.reserve_percent);
  rep.target = opt.target;

  std::optional<Tuning> tuning;
  BoxFacts facts = box;
  if (opt.tune) {
    phase("tuning sysctls");
    auto t = Tuning::Apply(opt.target);
    if (!t) return tl::unexpected(t.error());
    tuning.emplace(std::move(*t));
    for (const auto& c : tuning->changes()) phase("set " + c);
    if (auto f = ReadBoxFacts(sys::LiveReader())) facts.ephemeral_ports = f->ephemeral_ports;
  }
  // Restores the sysctls on every way out of this function.
  struct RestoreOnExit {
    std::optional<Tuning>& t;
    ~RestoreOnExit() {
      if (t) t->Restore();
    }
  } restore_on_exit{tuning};

  PlanInput in;
  in.target = opt.target;
  in.nofile_hard = facts.nofile_hard;
  in.ephemeral_ports = facts.ephemeral_ports;
  in.uring_direct = facts.uring_direct;
  in.engine = opt.engine;
  in.cores = facts.cores;
  in.first_port = opt.first_port;
  auto plan = MakePlan(in);
  if (!plan) return tl::unexpected(plan.error());
  rep.plan = *plan;
  rep.engine = fmt::format("serve {}, load {}", EngineName(plan->serve_engine), EngineName(plan->load_engine));
  if (!facts.uring_direct && !facts.uring_reason.empty()) rep.notes.push_back("io_uring: " + facts.uring_reason);

  Climb climb;
  phase(fmt::format("starting {} serve shard(s) on {}", plan->serve_processes, plan->TargetSpec()));
  if (auto r = StartServe(opt, *plan, climb); !r) {
    Teardown(climb);
    return tl::unexpected(r.error());
  }
  sys::LiveReader reader;
  Memory base = ReadMemory(reader);
  uint64_t pinned_per_file = PinnedBytesPerFile(reader);
  phase(fmt::format("opening {} connections from {}", FormatCount(plan->target), plan->SourceSpec()));
  if (auto r = StartLoad(opt, *plan, climb); !r) {
    Teardown(climb);
    return tl::unexpected(r.error());
  }

  uint64_t start = MonotonicNanos();
  uint64_t next_sample = start + static_cast<uint64_t>(opt.interval.count()) * 1'000'000;
  uint64_t last_held = 0;
  double last_progress_t = 0;
  while (true) {
    PollChildren(climb, 50);
    if (stop.load()) {
      rep.stop_reason = "interrupted";
      rep.stop_detail = "stopped by a signal (SIGINT/SIGTERM) before the target";
      break;
    }
    if (climb.load->Exited()) {
      PollChildren(climb, 0);
      rep.stop_reason = "error";
      rep.stop_detail = ChildFailure(*climb.load);
      break;
    }
    bool serve_died = false;
    for (auto& s : climb.serve) {
      if (s.Exited()) {
        rep.stop_reason = "error";
        rep.stop_detail = ChildFailure(s);
        serve_died = true;
      }
    }
    if (serve_died) break;
    uint64_t now = MonotonicNanos();
    if (now < next_sample) continue;
    next_sample += static_cast<uint64_t>(opt.interval.count()) * 1'000'000;

    Totals sv = Sum(climb.serve_latest);
    Totals ld = Sum(climb.load_latest);
    if (ld.rss == 0) continue;  // load has not reported yet
    Memory m = ReadMemory(reader);
    if (rep.samples.empty()) {
      // The baseline: the shards as started, before their connections.
      rep.samples.push_back(Sample{0, 0, 0, 0, 0, 0, 0, 0, sv.rss, ld.rss, base.file_nr});
    }
    Sample s;
    s.t = double(now - start) / 1e9;
    s.established = std::min(sv.held, ld.held);
    s.opened = ld.opened;
    s.failed = ld.failed;
    s.rate = HeldRate(rep.samples, s);
    s.mem_used = int64_t(base.available) - int64_t(m.available);
    s.slab = int64_t(m.slab) - int64_t(base.slab);
    s.rss_serve = sv.rss;
    s.rss_load = ld.rss;
    s.file_nr = m.file_nr;
    int64_t user_growth = int64_t(s.rss_serve + s.rss_load) -
                          int64_t(rep.samples.front().rss_serve + rep.samples.front().rss_load);
    s.kernel = s.mem_used - user_growth;
    rep.samples.push_back(s);
    rep.errors = ld.errors;
    for (const auto& [k, v] : sv.errors) rep.errors["serve " + k] += v;
    rep.reached = std::max(rep.reached, s.established);
    rep.peak_rate = std::max(rep.peak_rate, s.rate);
    if (obs.on_sample) obs.on_sample(s, rep);

    if (s.established > last_held) {
      last_held = s.established;
      last_progress_t = s.t;
    }
    if (s.established >= plan->target) {
      rep.target_reached = true;
      rep.stop_reason = "target reached";
      rep.stop_detail = fmt::format("held {} connections, the target", FormatCount(s.established));
      break;
    }
    uint64_t usable = UsableNow(base, m, pinned_per_file);
    if (usable < rep.reserve_bytes) {
      rep.stop_reason = "memory reserve";
      rep.stop_detail = fmt::format(
          "usable memory (MemAvailable less the socket inodes and dentries it counts as reclaimable) fell to {}, "
          "under the reserve of {}",
          FormatBytes(double(usable)), FormatBytes(double(rep.reserve_bytes)));
      break;
    }
    double stalled = s.t - last_progress_t;
    if (!ld.errors.empty() && stalled >= kStallSeconds) {
      rep.stop_reason = "limit";
      rep.stop_detail = fmt::format("no new connection for {:.0f} s while connects fail", stalled);
      break;
    }
    if (stalled >= kIdleSeconds || (climb.load_done && stalled >= 5)) {
      rep.stop_reason = "stalled";
      rep.stop_detail = fmt::format("no new connection held for {:.0f} s", stalled);
      break;
    }
    if (s.t >= double(opt.timeout.count())) {
      rep.stop_reason = "timeout";
      rep.stop_detail = fmt::format("the time limit of {} s ran out", opt.timeout.count());
      break;
    }
  }
  rep.climb_seconds = SecondsSince(start);
  if (!rep.samples.empty()) {
    // The climb's mean rate: connections held over the time it took to reach them.
    const Sample* peak = &rep.samples.front();
    for (const Sample& s : rep.samples)
      if (s.established > peak->established) peak = &s;
    rep.mean_rate = peak->t > 0 ? double(peak->established) / peak->t : 0;
  }
  std::string dominant = DominantError(rep.errors);
  if (rep.target_reached) {
    rep.binding_limit = "none: the target was reached";
  } else if (rep.stop_reason == "memory reserve") {
    rep.binding_limit = "memory (MemAvailable reserve)";
    rep.remedy = "more RAM, or fewer bytes per connection (a user-space stack: tcpmax userland)";
  } else if (!dominant.empty()) {
    LimitName l = LimitFromErrorKey(dominant);
    rep.binding_limit = l.limit;
    rep.remedy = l.remedy;
  } else {
    rep.binding_limit = "unknown (" + rep.stop_reason + ")";
  }

  if (opt.hold.count() > 0 && rep.stop_reason != "error") {
    phase(fmt::format("holding the connections for {}", FormatDuration(opt.hold)));
    uint64_t until = MonotonicNanos() + static_cast<uint64_t>(opt.hold.count()) * 1'000'000;
    while (MonotonicNanos() < until && !stop.load()) PollChildren(climb, 50);
  }
  if (rep.reached > 0) {
    phase("verifying with count");
    rep.verified = CountServerSide(*plan);
  }
  phase("tearing down");
  uint64_t td = MonotonicNanos();
  Teardown(climb);
  rep.teardown_seconds = SecondsSince(td);
  Fit(rep);
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
  if (tuning) {
    for (auto& line : tuning->changes()) rep.settings_changed.push_back(line);
    for (auto& line : tuning->Restore()) rep.settings_changed.push_back(line);
  }
  return rep;
}

}  // namespace tcpmax::probe

#include "probe/server_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/units.h"
#include "diag/server_scan.h"
#include "load/runner.h"
#include "probe/fit.h"
#include "probe/memory_guard.h"
#include "probe/server_config.h"
#include "probe/server_verdict.h"
#include "probe/shard_totals.h"
#include "sys/netstat.h"
#include "sys/process.h"
#include "sys/process_facts.h"
#include "sys/shard.h"
#include "sys/slabinfo.h"

namespace tcpmax::probe {
namespace {

constexpr uint64_t kSettleTimeoutNs = 30'000'000'000ull;
constexpr uint64_t kReportTimeoutNs = 5'000'000'000ull;
constexpr int kShardWaitMs = 60'000;

std::vector<PortRange> PortsOf(const std::vector<Endpoint>& targets) {
  std::vector<PortRange> out;
  for (const Endpoint& e : targets) {
    if (std::none_of(out.begin(), out.end(), [&](const PortRange& r) { return r.Contains(e.port); })) {
      out.push_back(PortRange{e.port, e.port});
    }
  }
  return out;
}

// Checks every port has a LISTEN socket held by the server's processes.
Result<void> CheckListening(const ServerUnderTest& s, const std::vector<PortRange>& ports, std::string_view server) {
  auto scan = diag::ScanServerSockets(ports);
  if (!scan) return tl::unexpected(scan.error());
  std::vector<uint64_t> owned = sys::SocketInodes(s.Pids());
  for (const PortRange& r : ports) {
    bool any = false, ours = false;
    for (const auto& [port, inode] : scan->listening) {
      if (port != r.lo) continue;
      any = true;
      ours = ours || std::binary_search(owned.begin(), owned.end(), inode);
    }
    if (!ours) {
      return PlainError(fmt::format("{} does not listen on port {} of --server {}: {}", s.named_by, r.lo, server,
                                    any ? "the listening socket there belongs to another process" : "nothing listens there"));
    }
  }
  return {};
}

// The first process that listens on the ports (not the shell of --exec):
// what the server is named after and recognised by.
pid_t ListeningProcess(const ServerUnderTest& s, const std::vector<PortRange>& ports) {
  auto scan = diag::ScanServerSockets(ports);
  if (!scan) return s.main_pid;
  for (pid_t p : s.Pids()) {
    auto in = sys::SocketInodes(p);
    if (!in) continue;
    for (const auto& [port, inode] : scan->listening) {
      if (std::binary_search(in->begin(), in->end(), inode)) return p;
    }
  }
  return s.main_pid;
}

// The last line the server wrote to its log (an unlinked file: nothing of it
// outlives tcpmax, however tcpmax ends).
std::string Tail(int fd) {
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
    if (text.size() > 65536) text.erase(0, text.size() - 4096);
  }
  std::string_view t = sys::Trim(text);
  size_t nl = t.rfind('\n');
  return std::string(nl == std::string_view::npos ? t : t.substr(nl + 1));
}

pid_t SpawnInGroup(const std::string& command, const std::optional<sys::MemoryCgroup>& group, int log) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  // Child: into the group before exec, so everything it allocates is charged there.
  if (group) {
    int fd = ::open((group->dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(126);
    ::close(fd);
  }
  ::setsid();
  int out = log;
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out >= 0) ::dup2(out, 1), ::dup2(out, 2);
  if (in >= 0) ::dup2(in, 0);
  ::close_range(3, ~0u, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

}  // namespace

ServerUnderTest::~ServerUnderTest() { Stop(std::chrono::milliseconds(3000)); }

std::vector<pid_t> ServerUnderTest::Pids() const {
  if (from_group_ && cgroup) {
    auto procs = sys::CgroupProcs(*cgroup);
    if (procs) return *procs;
    return {};
  }
  return sys::ProcessTree(main_pid);
}

std::string ServerUnderTest::Stop(std::chrono::milliseconds grace) {
  if (!started || stopped_) return "";
  stopped_ = true;
  std::string note;
  if (cgroup) {
    auto killed = sys::RemoveMemoryCgroup(*cgroup, grace);
    if (!killed) note = "stopping the server: " + killed.error().ToString();
    else if (*killed > 0) note = fmt::format("the server did not stop within {} of SIGTERM: {} process(es) killed", FormatDuration(grace), *killed);
    else note = "the server was stopped with SIGTERM and its control group removed";
  } else {
    ::kill(-main_pid, SIGTERM);
    note = "the server was sent SIGTERM";
  }
  ::waitpid(main_pid, nullptr, WNOHANG);
  return note;
}

Result<std::unique_ptr<ServerUnderTest>> FindServer(const ServerProbeOptions& o) {
  int named = (o.pid > 0) + !o.exec.empty() + !o.cgroup.empty();
  if (named != 1) return ErrnoError(EINVAL, "--server needs exactly one of --pid, --exec, --cgroup to name the server");
  std::unique_ptr<ServerUnderTest> s(new ServerUnderTest());
  if (o.pid > 0) {
    s->named_by = fmt::format("--pid {}", o.pid);
    if (::kill(o.pid, 0) != 0 && errno == ESRCH) return ErrnoError(ESRCH, fmt::format("--pid {}: no such process", o.pid));
    s->main_pid = o.pid;
    if (auto g = sys::MemoryCgroupOfPid(o.pid)) s->cgroup = *g;
    return s;
  }
  if (!o.cgroup.empty()) {
    s->named_by = fmt::format("--cgroup {}", o.cgroup);
    auto g = sys::MemoryCgroupAt(o.cgroup);
    if (!g) return tl::unexpected(g.error());
    s->cgroup = *g;
    s->cgroup_own = true;
    s->from_group_ = true;
    auto procs = sys::CgroupProcs(*g);
    if (!procs) return tl::unexpected(procs.error());
    if (procs->empty()) return ErrnoError(ESRCH, fmt::format("--cgroup {}: no process runs in it", o.cgroup));
    s->main_pid = procs->front();
    return s;
  }
  s->named_by = fmt::format("--exec '{}'", o.exec);
  auto g = sys::CreateChildMemoryCgroup(fmt::format("tcpmax-server-{}", ::getpid()));
  if (g) {
    s->cgroup = *g;
    s->cgroup_own = true;
    s->from_group_ = true;
  }
  s->log_ = Fd(::open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  pid_t pid = SpawnInGroup(o.exec, s->cgroup, s->log_.get());
  if (pid < 0) return ErrnoError("--exec: fork");
  s->main_pid = pid;
  s->started = true;
  if (!g) s->named_by += " (no memory control group: " + g.error().ToString() + ")";
  return s;
}

Result<ServerSetup> PrepareServer(const ServerProbeOptions& o, const sys::Reader& reader) {
  ServerSetup setup;
  auto targets = ParseEndpointSpec(o.server, false);
  if (!targets) return ErrnoError(EINVAL, "--server " + o.server + ": " + targets.error().context);
  for (const Endpoint& e : *targets) {
    if (!e.ip.IsLoopback()) {
      return ErrnoError(EINVAL, fmt::format("--server {}: {} is not a loopback address; tcpmax drives load only at "
                                            "loopback (127.0.0.0/8, ::1)", o.server, e.ip.ToString()));
    }
  }
  if (o.target == 0) return ErrnoError(EINVAL, "--target must be at least 1");
  setup.targets = *targets;
  setup.ports = PortsOf(*targets);
  bool v6 = targets->front().ip.family == AF_INET6;
  auto src = ParseCidr(v6 ? "::1/128" : "127.1.0.0/16");
  setup.sources = {*src};
  auto box = ReadBoxFacts(reader);
  if (!box) return tl::unexpected(box.error());
  setup.box = *box;
  setup.reserve_bytes = ReserveBytes(setup.box, o.reserve_percent, o.reserve_bytes);
  auto server = FindServer(o);
  if (!server) return tl::unexpected(server.error());
  setup.server = std::move(*server);
  ServerUnderTest& s = *setup.server;
  if (s.started) {
    // Until it listens, or exits, or the ready timeout passes.
    uint64_t deadline = MonotonicNanos() + static_cast<uint64_t>(o.ready_timeout.count()) * 1'000'000;
    int status = 0;
    bool shell_done = false;
    for (;;) {
      if (!shell_done && ::waitpid(s.main_pid, &status, WNOHANG) == s.main_pid) shell_done = true;
      auto listening = CheckListening(s, setup.ports, o.server);
      if (listening) break;
      std::vector<pid_t> pids = s.Pids();
      if (shell_done && (pids.empty() || (pids.size() == 1 && pids[0] == s.main_pid))) {
        std::string out = s.log_ ? Tail(s.log_.get()) : "";
        return ErrnoError(ECHILD, fmt::format("--exec '{}' exited ({}) before listening on {}{}", o.exec,
                                              WIFEXITED(status) ? fmt::format("status {}", WEXITSTATUS(status))
                                                                : fmt::format("signal {}", WTERMSIG(status)),
                                              o.server, out.empty() ? "" : ": " + out));
      }
      if (MonotonicNanos() > deadline) {
        return ErrnoError(ETIMEDOUT, fmt::format("--exec '{}' did not listen on {} within {}: {}", o.exec, o.server,
                                                 FormatDuration(o.ready_timeout), listening.error().context));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } else if (auto listening = CheckListening(s, setup.ports, o.server); !listening) {
    return ErrnoError(EINVAL, listening.error().context);
  }
  auto facts = sys::ReadProcessFacts(ListeningProcess(s, setup.ports));
  std::string cg_path = s.cgroup ? s.cgroup->path : "";
  if (facts) setup.kind = RecognizeServer(facts->comm, facts->cmdline, cg_path);
  return setup;
}

namespace {

struct ProcessReading {
  uint64_t fds = 0, anon = 0, threads = 0, cpu_ticks = 0;
  size_t alive = 0;
};

class ServerClimb {
 public:
  ServerClimb(const ServerProbeOptions& o, ServerSetup& setup, const ServerObserver& obs, ServerReport& rep)
      : opt_(o), setup_(setup), obs_(obs), rep_(rep) {}

  Result<void> Baseline();
  Result<void> StartLoad();
  StopDecision Run(const MemoryGuard& guard, const std::atomic<bool>& stop);
  void Settle(const std::atomic<bool>& stop);
  void Hold(const std::atomic<bool>& stop);
  void Verify(const std::atomic<bool>& stop);
  void Teardown();
  void Finish();

 private:
  void Phase(std::string_view p) {
    if (obs_.on_phase) obs_.on_phase(p);
  }
  ProcessReading ReadProcesses();
  std::optional<StopDecision> TakeSample(const MemoryGuard& guard, uint64_t start, const std::atomic<bool>& stop);
  bool FreshReports(const std::atomic<bool>& stop);
  // The climb's pace (without --rate): faster while the server keeps up,
  // half as fast when its listen queue overflows or fills to half.
  void Pace(const ServerSample& s) {
    if (!paced_ || stop_opening_sent_) return;
    // The server closing connections it just accepted is a cap being hit:
    // slow down too, so the climb does not churn past it.
    bool overflow = s.listen_overflows > last_overflows_ || (s.backlog > 0 && s.queued * 2 >= s.backlog) ||
                    s.closed_by_server > last_closed_;
    last_overflows_ = s.listen_overflows;
    last_closed_ = s.closed_by_server;
    calm_ = overflow ? 0 : calm_ + 1;
    if (overflow && pace_ > kMinPace) {
      load_->Command(sys::ShardCommand::kSlower);
      pace_ -= 2;
    } else if (calm_ >= 2 && pace_ < kMaxPace) {  // faster only after two calm samples in a row
      load_->Command(sys::ShardCommand::kFaster);
      pace_ += 1;
      calm_ = 0;
    }
    rep_.pace_rate = kStartRate * std::exp2(pace_ / 2.0);
  }
  static constexpr double kStartRate = 2000;  // connections/s the paced climb starts at
  static constexpr int kMinPace = -8;         // 2000 x 2^-4 = 125/s: the slowest it goes
  static constexpr int kMaxPace = 20;         // 2000 x 2^10 = 2M/s: as fast as load goes
  void StopOpening() {
    if (!stop_opening_sent_ && load_) load_->Command(sys::ShardCommand::kStopOpening);
    stop_opening_sent_ = true;
  }
  int64_t CgroupKernel(const std::optional<sys::MemoryCgroup>& g) {
    if (!g) return 0;
    auto m = sys::ReadCgroupMemory(*g);
    return m ? int64_t(m->kernel + m->sock) : 0;
  }

  const ServerProbeOptions& opt_;
  ServerSetup& setup_;
  const ServerObserver& obs_;
  ServerReport& rep_;
  std::unique_ptr<sys::ShardSet> load_;
  load::LoadRun load_run_;
  std::optional<sys::MemoryCgroup> load_group_;
  ClimbState state_;
  bool stop_opening_sent_ = false;
  sys::NetCounters counters_start_;
  int64_t cg_kernel_start_ = 0, cg_usage_start_ = 0, client_kernel_start_ = 0;
  uint64_t cpu_last_ = 0;
  double cpu_last_t_ = 0;
  double last_sample_t_ = 0;
  std::vector<std::pair<double, uint64_t>> accepted_by_t_;  // for the plateau rule
  std::vector<std::pair<double, uint64_t>> attempted_by_t_;
  load::LoadStats final_load_;
  uint64_t peak_cg_usage_ = 0;
  bool paced_ = false;
  int pace_ = 0;
  uint64_t last_overflows_ = 0;
  uint64_t last_closed_ = 0;
  int calm_ = 0;
};

ProcessReading ServerClimb::ReadProcesses() {
  ProcessReading r;
  for (pid_t p : setup_.server->Pids()) {
    auto f = sys::ReadProcessFacts(p);
    if (!f) continue;
    ++r.alive;
    r.fds += f->fds;
    r.anon += f->anon_bytes;
    r.threads += f->threads;
    r.cpu_ticks += f->cpu_ticks;
    auto it = std::find_if(rep_.processes.begin(), rep_.processes.end(), [&](const ServerProcess& sp) { return sp.pid == p; });
    if (it == rep_.processes.end()) {
      ServerProcess sp{p, f->comm, f->cmdline, f->nofile_soft, f->nofile_hard, f->fds, f->fds, f->anon_bytes, f->anon_bytes, f->threads, false};
      rep_.processes.push_back(sp);
      it = rep_.processes.end() - 1;
    }
    it->cmdline = f->cmdline;  // nginx retitles its workers after fork
    it->fds_peak = std::max(it->fds_peak, f->fds);
    it->anon_peak = std::max(it->anon_peak, f->anon_bytes);
    it->threads = f->threads;
  }
  return r;
}

Result<void> ServerClimb::Baseline() {
  auto c = sys::ReadNetCounters(sys::LiveReader());
  if (!c) return tl::unexpected(c.error());
  counters_start_ = *c;
  ProcessReading pr = ReadProcesses();
  if (pr.alive == 0) return PlainError("the server has no process left");
  cpu_last_ = pr.cpu_ticks;
  const auto& g = setup_.server->cgroup;
  if (setup_.server->cgroup_own && g) {
    cg_kernel_start_ = CgroupKernel(g);
    if (auto m = sys::ReadCgroupMemory(*g)) cg_usage_start_ = int64_t(m->usage);
  }
  // Which processes listen.
  auto scan = diag::ScanServerSockets(setup_.ports);
  if (scan) {
    for (ServerProcess& p : rep_.processes) {
      auto in = sys::SocketInodes(p.pid);
      if (!in) continue;
      for (const auto& [port, inode] : scan->listening) p.listens = p.listens || std::binary_search(in->begin(), in->end(), inode);
    }
  }
  return {};
}

Result<void> ServerClimb::StartLoad() {
  load::LoadOptions o;
  o.targets = setup_.targets;
  o.sources = setup_.sources;
  // Attempts to spare: connects that fail while the server's queue overflows
  // (or that it closes) do not count toward the target, which is what the
  // server holds; the climb stops opening once it holds the target.
  o.connections = opt_.target + std::max<uint64_t>(opt_.target / 2, 100);
  o.hold_target = opt_.target;
  paced_ = opt_.rate <= 0;
  o.rate = paced_ ? kStartRate : opt_.rate;
  o.hold_ns = std::nullopt;
  o.engine = opt_.engine;
  o.interval_ns = static_cast<uint64_t>(opt_.interval.count()) * 1'000'000;
  auto run = load::PlanLoad(std::move(o));
  if (!run) return tl::unexpected(run.error());
  load_run_ = std::move(*run);
  rep_.engine = std::string(EngineName(load_run_.options.engine));
  rep_.load_processes = load_run_.processes;
  // The load shards in a memory group of their own, so their kernel memory
  // is measured apart from the server's.
  auto own = sys::OwnMemoryCgroup();
  if (auto g = sys::CreateChildMemoryCgroup(fmt::format("tcpmax-load-{}", ::getpid())); g && own) {
    if (sys::MoveToCgroup(*g, ::getpid())) load_group_ = *g;
  } else if (!g) {
    rep_.notes.push_back("the load side's kernel memory is not measured apart: " + g.error().ToString());
  }
  client_kernel_start_ = CgroupKernel(load_group_);
  Phase(fmt::format("opening up to {} connections to {} with {} load shard(s)", FormatCount(opt_.target), rep_.server,
                    load_run_.processes));
  sys::ShardOptions so{opt_.shard_nice, true};
  uint64_t interval = load_run_.options.interval_ns;
  auto set = sys::ShardSet::Start(load_run_.processes, [&](int i, sys::ShardChannel& ch) {
    return load::RunShard(load_run_, i, ch, interval);
  }, so);
  if (load_group_ && own) (void)sys::MoveToCgroup(*own, ::getpid());
  if (!set) return tl::unexpected(set.error());
  load_ = std::move(*set);
  return {};
}

std::optional<StopDecision> ServerClimb::TakeSample(const MemoryGuard& guard, uint64_t start, const std::atomic<bool>& stop) {
  if (std::string why = ShardFailure(*load_, "load"); !why.empty()) return StopDecision{StopReason::kError, why};
  auto mem = guard.Read();
  if (!mem) return StopDecision{StopReason::kError, "memory guard: " + mem.error().ToString()};
  if (mem->tripped) {
    StopOpening();
    rep_.guard_tripped = true;
  }
  SideTotals ld = Sum(*load_);
  auto scan = diag::ScanServerSockets(setup_.ports);
  if (!scan) return StopDecision{StopReason::kError, "counting the server's sockets: " + scan.error().ToString()};
  ProcessReading pr = ReadProcesses();
  if (pr.alive == 0) return StopDecision{StopReason::kError, "the server exited during the climb"};
  ServerSample s;
  s.t = SecondsSince(start);
  s.client_held = ld.held;
  s.opened = ld.opened;
  s.failed = ld.failed;
  s.closed_by_server = ld.closed;
  s.accepted = scan->accepted;
  s.queued = scan->no_file;
  s.backlog = scan->backlog;
  s.close_wait = scan->close_wait;
  s.fds = pr.fds;
  s.anon = pr.anon;
  s.threads = pr.threads;
  double dt = s.t - cpu_last_t_;
  if (dt > 0 && pr.cpu_ticks >= cpu_last_) {
    s.cpu_percent = 100.0 * double(pr.cpu_ticks - cpu_last_) / double(sys::ClockTicksPerSecond()) / dt;
  }
  cpu_last_ = pr.cpu_ticks;
  cpu_last_t_ = s.t;
  const auto& g = setup_.server->cgroup;
  if (setup_.server->cgroup_own && g) {
    if (auto m = sys::ReadCgroupMemory(*g)) {
      s.cg_kernel = int64_t(m->kernel + m->sock) - cg_kernel_start_;
      s.cg_usage = int64_t(m->usage) - cg_usage_start_;
      peak_cg_usage_ = std::max<uint64_t>(peak_cg_usage_, m->usage);
    }
  }
  s.client_kernel = CgroupKernel(load_group_) - client_kernel_start_;
  s.slab = int64_t(mem->reading.slab) - int64_t(guard.baseline().slab);
  s.socket_slab = int64_t(mem->reading.socket_slab) - int64_t(guard.baseline().socket_slab);
  s.usable = mem->usable;
  if (auto c = sys::ReadNetCounters(sys::LiveReader())) {
    s.listen_overflows = sys::Counter(*c, "TcpExt.ListenOverflows") - sys::Counter(counters_start_, "TcpExt.ListenOverflows");
    s.listen_drops = sys::Counter(*c, "TcpExt.ListenDrops") - sys::Counter(counters_start_, "TcpExt.ListenDrops");
  }
  for (auto it = rep_.samples.rbegin(); it != rep_.samples.rend(); ++it) {
    if (s.t - it->t >= 1.0 || std::next(it) == rep_.samples.rend()) {
      double span = s.t - it->t;
      if (span > 0) s.rate = double(s.accepted > it->accepted ? s.accepted - it->accepted : 0) / span;
      break;
    }
  }
  s.pace = paced_ ? kStartRate * std::exp2(pace_ / 2.0) : opt_.rate;
  rep_.max_sample_gap_seconds = std::max(rep_.max_sample_gap_seconds, s.t - last_sample_t_);
  last_sample_t_ = s.t;
  rep_.samples.push_back(s);
  rep_.accepted_peak = std::max(rep_.accepted_peak, s.accepted);
  rep_.peak_rate = std::max(rep_.peak_rate, s.rate);
  rep_.errors.clear();
  for (const auto& [key, n] : ld.errors.ByKey()) rep_.errors[key] = n;
  if (obs_.on_sample) obs_.on_sample(s, rep_);

  Pace(s);

  // The plateau: accepted flat for plateau_seconds while the load kept
  // connecting (or the server kept closing).
  accepted_by_t_.emplace_back(s.t, s.accepted);
  attempted_by_t_.emplace_back(s.t, ld.attempted + ld.closed);
  if (s.t >= opt_.plateau_seconds) {
    size_t k = 0;
    while (k + 1 < accepted_by_t_.size() && s.t - accepted_by_t_[k + 1].first >= opt_.plateau_seconds) ++k;
    uint64_t grew = s.accepted - std::min(s.accepted, accepted_by_t_[k].second);
    uint64_t tried = attempted_by_t_.back().second - attempted_by_t_[k].second;
    if (s.accepted > 0 || tried > 0) {
      if (grew * 1000 <= std::max<uint64_t>(s.accepted, 1) && tried >= 50 && s.accepted < opt_.target) {
        return StopDecision{StopReason::kLimit,
                            fmt::format("the server's accepted connections stayed at {} for {} while {} more connects "
                                        "and closes went on",
                                        FormatCount(s.accepted), FormatDuration(std::chrono::milliseconds(
                                                                     static_cast<int64_t>(opt_.plateau_seconds * 1000))),
                                        FormatCount(tried))};
      }
    }
  }
  ClimbRules rules;
  rules.target = opt_.target;
  rules.reserve_bytes = setup_.reserve_bytes;
  rules.max_pressure = opt_.max_memory_pressure;
  rules.timeout_seconds = double(opt_.timeout.count());
  Observation o;
  o.t = s.t;
  o.held = s.accepted;
  o.usable_bytes = s.usable;
  o.memory_pressure = mem->pressure.value_or(0);
  o.connect_errors = ld.errors.Total() > 0;
  o.attempts_done = ld.reporting == static_cast<size_t>(load_->size()) && ld.attempts_done;
  o.interrupted = stop.load();
  return CheckStop(rules, state_, o);
}

StopDecision ServerClimb::Run(const MemoryGuard& guard, const std::atomic<bool>& stop) {
  return SampleOnSchedule(
      static_cast<uint64_t>(opt_.interval.count()) * 1'000'000, stop, [&](int ms) { load_->Poll(ms); },
      [&](uint64_t start) { return TakeSample(guard, start, stop); }, &rep_.climb_seconds);
}

bool ServerClimb::FreshReports(const std::atomic<bool>& stop) {
  uint64_t ask = load_->RequestReports();
  uint64_t deadline = MonotonicNanos() + kReportTimeoutNs;
  while (MonotonicNanos() < deadline && !stop.load()) {
    load_->Poll(20);
    if (load_->Answered(ask)) return true;
  }
  return false;
}

// Quiet: the load stopped opening with nothing in flight, and neither the
// client's count nor the server's accepted count moved between two rounds.
void ServerClimb::Settle(const std::atomic<bool>& stop) {
  StopOpening();
  uint64_t deadline = MonotonicNanos() + kSettleTimeoutNs;
  std::optional<std::pair<uint64_t, uint64_t>> before;
  while (MonotonicNanos() < deadline && !stop.load()) {
    if (!FreshReports(stop)) continue;
    SideTotals ld = Sum(*load_);
    auto scan = diag::ScanServerSockets(setup_.ports);
    std::pair<uint64_t, uint64_t> now{ld.held, scan ? scan->accepted : 0};
    if (ld.inflight == 0 && ld.opening_stopped == static_cast<size_t>(load_->size()) && before == now) return;
    before = now;
    uint64_t pause = MonotonicNanos() + static_cast<uint64_t>(opt_.interval.count()) * 1'000'000;
    while (MonotonicNanos() < pause) load_->Poll(20);
  }
  rep_.notes.push_back("the connections did not settle within 30 s; the verification may see them move");
}

void ServerClimb::Hold(const std::atomic<bool>& stop) {
  if (opt_.hold.count() <= 0) return;
  Phase(fmt::format("holding the connections for {}", FormatDuration(opt_.hold)));
  uint64_t until = MonotonicNanos() + static_cast<uint64_t>(opt_.hold.count()) * 1'000'000;
  while (MonotonicNanos() < until && !stop.load()) load_->Poll(50);
}

// What the server holds is its own: accepted sockets on its ports whose
// inodes are among its processes' descriptors. The client's view must match
// the server side's sockets (accepted + queued).
void ServerClimb::Verify(const std::atomic<bool>& stop) {
  Phase("verifying: the server's sockets among its own descriptors");
  FreshReports(stop);
  SideTotals ld = Sum(*load_);
  ReadProcesses();
  std::vector<uint64_t> owned = sys::SocketInodes(setup_.server->Pids());
  auto scan = diag::ScanServerSockets(setup_.ports, owned);
  rep_.client_held = ld.held;
  rep_.closed_by_server = ld.closed;
  rep_.client_attempted = ld.attempted;
  rep_.client_failed = ld.failed;
  rep_.client_inflight = ld.inflight;
  if (!scan) {
    rep_.verification_detail = "counting the server's sockets failed: " + scan.error().ToString();
    rep_.verified = true;
    return;
  }
  rep_.verified = true;
  rep_.verified_owned = scan->owned;
  rep_.verified_accepted = scan->accepted;
  rep_.held = scan->owned;
  rep_.queued = scan->no_file;
  rep_.close_wait = scan->close_wait;
  rep_.accepted_peak = std::max(rep_.accepted_peak, scan->accepted);
  // The client's connections the server side has no socket for: completed
  // with SYN cookies while the listen queue was full, the final ACK dropped.
  uint64_t server_side = scan->established + scan->close_wait;
  rep_.client_only = ld.held > server_side ? ld.held - server_side : 0;
  std::vector<std::string> wrong;
  if (scan->owned != scan->accepted) {
    wrong.push_back(fmt::format("{} accepted sockets on {} are held by processes other than the server's",
                                FormatCount(scan->accepted - std::min(scan->accepted, scan->owned)), rep_.server));
  }
  if (server_side > ld.held && (server_side - ld.held) * 1000 > std::max<uint64_t>(ld.held, 1)) {
    wrong.push_back(fmt::format("the server side has {} established on its ports but the load holds only {}: "
                                "another client is connected too",
                                FormatCount(server_side), FormatCount(ld.held)));
  }
  if (scan->interrupted) wrong.push_back("the kernel flagged the socket dump inconsistent");
  rep_.verification_ok = wrong.empty();
  rep_.verification_detail =
      wrong.empty() ? fmt::format("the server's processes hold {} sockets on its ports; {} more wait in the listen queue; "
                                  "the client holds {}",
                                  FormatCount(scan->owned), FormatCount(scan->no_file), FormatCount(ld.held))
                    : fmt::format("{}", fmt::join(wrong, "; "));
}

void ServerClimb::Teardown() {
  if (load_) {
    load_->Command(sys::ShardCommand::kStop);
    uint64_t deadline = MonotonicNanos() + 10'000'000'000ull;
    while (MonotonicNanos() < deadline && load_->LatestAll(sys::ShardKind::kFinal).size() < static_cast<size_t>(load_->size())) {
      load_->Poll(50);
    }
    for (const sys::ShardReport& r : load_->LatestAll(sys::ShardKind::kFinal)) final_load_.Merge(load::FromShardReport(r));
    if (load_->malformed_lines() > 0) {
      rep_.notes.push_back(fmt::format("{} malformed shard report line(s) were dropped; the last: {}",
                                       load_->malformed_lines(), load_->last_malformed()));
    }
    std::vector<int> codes = load_->Wait(kShardWaitMs);
    int killed = static_cast<int>(std::count(codes.begin(), codes.end(), 128 + SIGKILL));
    if (killed > 0) rep_.notes.push_back(fmt::format("{} load shard(s) did not stop and were killed", killed));
  }
  if (load_group_) {
    if (auto r = sys::RemoveMemoryCgroup(*load_group_, std::chrono::seconds(1)); !r) {
      rep_.notes.push_back("removing the load shards' control group: " + r.error().ToString());
    }
  }
  if (std::string note = setup_.server->Stop(opt_.grace); !note.empty()) rep_.notes.push_back(note);
}

void ServerClimb::Finish() {
  const Histogram& h = final_load_.closed_after_ns;
  if (h.count() > 0) {
    rep_.closed_after_p10 = double(h.Quantile(0.10)) / 1e9;
    rep_.closed_after_p50 = double(h.Quantile(0.50)) / 1e9;
    rep_.closed_after_p90 = double(h.Quantile(0.90)) / 1e9;
  }
  rep_.closed_by_server = std::max(rep_.closed_by_server, final_load_.closed);
  if (auto c = sys::ReadNetCounters(sys::LiveReader())) {
    for (std::string_view k : {"TcpExt.ListenOverflows", "TcpExt.ListenDrops", "TcpExt.TCPReqQFullDrop",
                               "TcpExt.SyncookiesSent", "TcpExt.TCPReqQFullDoCookies", "TcpExt.TCPAbortOnData"}) {
      rep_.counters[std::string(k)] = sys::Counter(*c, k) - std::min(sys::Counter(*c, k), sys::Counter(counters_start_, k));
    }
  }
  // Cost per connection the server holds, fitted over the climb while the
  // server kept up (nothing queued, dropped or closed yet): past that,
  // queued sockets and the client's orphans grow the Slab too.
  size_t clean = 0;
  while (clean < rep_.samples.size() && rep_.samples[clean].queued == 0 && rep_.samples[clean].listen_overflows == 0 &&
         rep_.samples[clean].closed_by_server == 0) {
    ++clean;
  }
  if (clean < 3) clean = rep_.samples.size();
  std::vector<Point> user, kernel, slab, client, socket_slab;
  for (size_t i = 0; i < clean; ++i) {
    const ServerSample& s = rep_.samples[i];
    user.push_back({double(s.accepted), double(s.anon)});
    kernel.push_back({double(s.accepted), double(s.cg_kernel)});
    slab.push_back({double(s.accepted), double(s.slab)});
    socket_slab.push_back({double(s.accepted), double(s.socket_slab)});
    client.push_back({double(s.client_held), double(s.client_kernel)});
  }
  rep_.user_fit = FitLine(user);
  rep_.slab_fit = FitLine(slab);
  rep_.socket_slab_fit = FitLine(socket_slab);
  LineFit client_fit = FitLine(client);
  if (load_group_ && client_fit.valid()) rep_.client_kernel_bytes = std::max(0.0, client_fit.slope);
  rep_.user_bytes = rep_.user_fit.valid() ? std::max(0.0, rep_.user_fit.slope) : 0;
  if (setup_.server->cgroup_own && setup_.server->cgroup) {
    rep_.kernel_fit = FitLine(kernel);
    rep_.cgroup_kernel_bytes = rep_.kernel_fit.valid() ? std::max(0.0, rep_.kernel_fit.slope) : 0;
  }
  // The kernel allocates an accepted socket while it answers the client's
  // handshake (softirq), where no memory group is charged; the server's group
  // is charged only for what accept() adds. So the server's kernel cost is
  // measured on the socket caches (both ends) less the objects each load-side
  // socket owns (its socket, inode, file, their security blobs, and an epoll
  // watch under the epoll engine); the group's figure is shown beside it.
  if (auto slab = sys::ReadSlabinfo(sys::LiveReader()); slab && rep_.socket_slab_fit.valid()) {
    bool v6 = !setup_.targets.empty() && setup_.targets.front().ip.family == AF_INET6;
    double client = double(sys::ObjectSize(*slab, v6 ? "TCPv6" : "TCP") + sys::ObjectSize(*slab, "sock_inode_cache") +
                           sys::ObjectSize(*slab, "filp") + sys::ObjectSize(*slab, "lsm_file_cache") +
                           sys::ObjectSize(*slab, "lsm_inode_cache"));
    if (load_run_.options.engine == Engine::kEpoll) {
      client += double(sys::ObjectSize(*slab, "eventpoll_epi") + sys::ObjectSize(*slab, "eventpoll_pwq"));
    }
    rep_.client_socket_bytes = client;
    rep_.kernel_bytes = std::max(0.0, rep_.socket_slab_fit.slope - client);
    rep_.kernel_source = "the socket caches' growth (both ends) less the objects of one load-side socket; dentries not counted";
  } else if (rep_.slab_fit.valid() && load_group_) {
    rep_.kernel_bytes = std::max(0.0, rep_.slab_fit.slope - rep_.client_kernel_bytes);
    rep_.kernel_source = "the box's Slab growth less the load side's memory group";
  } else if (rep_.cgroup_kernel_bytes > 0) {
    rep_.kernel_bytes = rep_.cgroup_kernel_bytes;
    rep_.kernel_source = "the server's memory group only (sockets built in softirq are charged to no group: a floor)";
  } else if (rep_.slab_fit.valid()) {
    rep_.kernel_fit = rep_.slab_fit;
    rep_.kernel_bytes = std::max(0.0, rep_.slab_fit.slope / 2);
    rep_.kernel_source = "half the box's Slab growth (both ends are sockets of one kind); an estimate";
  }
  const ServerSample* peak = nullptr;
  for (const ServerSample& s : rep_.samples) {
    if (peak == nullptr || s.accepted > peak->accepted) peak = &s;
  }
  rep_.mean_rate = peak != nullptr && peak->t > 0 ? double(peak->accepted) / peak->t : 0;

  ServerVerdictInput in;
  in.report = &rep_;
  in.cores = setup_.box.cores;
  if (setup_.server->cgroup) {
    if (auto m = sys::ReadCgroupMemory(*setup_.server->cgroup)) in.cgroup_limit = m->limit;
    in.cgroup_usage = peak_cg_usage_;
  }
  rep_.findings = DiagnoseServer(in);
  if (!rep_.findings.empty()) rep_.binding = rep_.findings.front();

  // The projection: what this box could hold for this server.
  double per_conn = rep_.user_bytes + rep_.kernel_bytes;
  auto add = [&](std::string id, std::string limit, uint64_t ceiling) {
    rep_.projection.push_back(PredictedLimit{std::move(id), std::move(limit), ceiling, false});
  };
  uint64_t fd_room = 0;
  bool fd_limited = false;
  bool any_grew = std::any_of(rep_.processes.begin(), rep_.processes.end(),
                              [](const ServerProcess& p) { return p.fds_peak > p.fds_start; });
  for (const ServerProcess& p : rep_.processes) {
    // The processes that accepted (their descriptors grew); the listeners when none did.
    if ((any_grew ? p.fds_peak > p.fds_start : p.listens) && p.nofile_soft != sys::kUnlimited) {
      fd_room += p.nofile_soft > p.fds_start ? p.nofile_soft - p.fds_start : 0;
      fd_limited = true;
    }
  }
  if (fd_limited) add("rlimit_nofile_soft", "the server's RLIMIT_NOFILE (soft), summed over its accepting processes", fd_room);
  if (per_conn > 0 && rep_.mem_available_start > rep_.reserve_bytes) {
    add("memory", fmt::format("MemAvailable less the reserve at {} per connection", FormatBytes(per_conn)),
        static_cast<uint64_t>(double(rep_.mem_available_start - rep_.reserve_bytes) / per_conn));
  }
  if (in.cgroup_limit && per_conn > 0 && *in.cgroup_limit > uint64_t(cg_usage_start_)) {
    add("cgroup_memory", "the server's memory group limit", static_cast<uint64_t>(double(*in.cgroup_limit - cg_usage_start_) / per_conn));
  }
  for (const ServerFinding& f : rep_.findings) {
    if (f.id == "server.connection_cap" && f.ceiling > 0) add(f.id, f.limit, f.ceiling);
  }
  if (!rep_.projection.empty()) {
    auto min = std::min_element(rep_.projection.begin(), rep_.projection.end(),
                                [](const PredictedLimit& a, const PredictedLimit& b) { return a.ceiling < b.ceiling; });
    min->binding = true;
    rep_.projected = min->ceiling;
  }
}

}  // namespace

Result<ServerReport> RunServerProbe(const ServerProbeOptions& o, ServerSetup& setup, const ServerObserver& obs,
                                    const std::atomic<bool>& stop, const sys::Reader& memory) {
  ServerReport rep;
  ServerUnderTest& srv = *setup.server;
  rep.server = o.server;
  rep.named_by = srv.named_by;
  rep.pid = srv.main_pid;
  rep.target = o.target;
  rep.kind = setup.kind;
  rep.kernel = setup.box.kernel;
  rep.cores = setup.box.cores;
  rep.mem_total = setup.box.mem_total;
  rep.mem_available_start = setup.box.mem_available;
  rep.reserve_bytes = setup.reserve_bytes;
  if (srv.cgroup) {
    rep.cgroup = srv.cgroup->dir;
    rep.cgroup_version = srv.cgroup->version;
    rep.cgroup_own = srv.cgroup_own;
  }
  pid_t named = ListeningProcess(srv, setup.ports);
  if (auto f = sys::ReadProcessFacts(named)) {
    rep.pid = named;
    rep.name = f->comm;
    rep.command = f->cmdline;
  }
  if (!rep.kind.note.empty()) rep.notes.push_back(rep.kind.name + ": " + rep.kind.note);
  if (auto r = sys::LockMemory(); !r) rep.notes.push_back("the supervisor's memory is not locked (" + r.error().ToString() + ")");
  ServerClimb climb(o, setup, obs, rep);
  if (auto b = climb.Baseline(); !b) {
    climb.Teardown();
    return tl::unexpected(b.error());
  }
  auto guard = MemoryGuard::Start(memory, setup.reserve_bytes, o.max_memory_pressure);
  if (!guard) {
    climb.Teardown();
    return tl::unexpected(guard.error());
  }
  if (auto r = climb.StartLoad(); !r) {
    climb.Teardown();
    return tl::unexpected(r.error());
  }
  std::optional<sys::RealtimeScope> realtime;
  if (auto rt = sys::RealtimeScope::Enter(1)) realtime.emplace(std::move(*rt));
  StopDecision d = climb.Run(*guard, stop);
  realtime.reset();
  rep.stop_reason = d.reason;
  rep.stop_detail = d.detail;
  rep.target_reached = d.reason == StopReason::kTarget;
  rep.paced = o.rate <= 0;
  if (d.reason != StopReason::kError) {
    if (obs.on_phase) obs.on_phase("stopping the load from opening more; waiting for answers in flight");
    climb.Settle(stop);
    climb.Hold(stop);
    climb.Verify(stop);
  }
  if (obs.on_phase) obs.on_phase("tearing down");
  climb.Teardown();
  climb.Finish();
  return rep;
}

}  // namespace tcpmax::probe

#include "serve/run.h"

#include <time.h>

#include <algorithm>

#include "core/clock.h"
#include "sys/process.h"
#include "sys/uring_support.h"

namespace tcpmax::serve {
namespace {

void SleepUntil(uint64_t deadline_ns, uint64_t max_ns) {
  uint64_t now = MonotonicNanos();
  uint64_t wait = std::min(deadline_ns > now ? deadline_ns - now : 0, max_ns);
  timespec ts{static_cast<time_t>(wait / 1'000'000'000ull), static_cast<long>(wait % 1'000'000'000ull)};
  ::nanosleep(&ts, nullptr);
}

struct Baseline {
  uint64_t rss = 0, anon = 0;
};

sys::ShardReport ToShardReport(const ServeSnapshot& s, sys::ShardKind kind, double t, const Baseline& start) {
  sys::ShardReport r;
  r.kind = kind;
  r.t = t;
  r.opened = s.accepted;
  r.closed = s.closed;
  r.held = s.held();
  r.errors = s.errors.ByErrno();
  r.rss_bytes = sys::ResidentBytes().value_or(0);
  r.rss_start_bytes = start.rss;
  r.anon_bytes = sys::AnonResidentBytes().value_or(0);
  r.anon_start_bytes = start.anon;
  return r;
}

}  // namespace

Result<Engine> ChooseEngine(Engine requested, std::string* note) {
  if (requested == Engine::kEpoll) return Engine::kEpoll;
  sys::UringSupport u = sys::DetectUring();
  if (u.ok()) return Engine::kUring;
  if (requested == Engine::kUring) return PlainError("io_uring cannot be used: " + u.reason);
  *note = "io_uring unavailable (" + u.reason + "); using epoll";
  return Engine::kEpoll;
}

Result<ServeOutcome> RunServe(const ServeRunOptions& o, const std::atomic<bool>& stop, const ServeObserver& obs) {
  ServeOutcome out;
  out.rss_start_bytes = sys::ResidentBytes().value_or(0);
  auto server = [&] {
    sys::BlockStopSignals block;  // the workers inherit it
    return Server::Start(o.server);
  }();
  if (!server) return tl::unexpected(server.error());
  out.endpoints = (*server)->endpoints();
  out.backlog = (*server)->backlog();
  if (obs.on_ready) obs.on_ready(**server);
  uint64_t start = MonotonicNanos();
  uint64_t next = start + o.interval_ns;
  uint64_t last_accepted = 0, last_t = start;
  while (!stop.load()) {
    uint64_t now = MonotonicNanos();
    if (o.duration_ns != 0 && now >= start + o.duration_ns) {
      out.by_duration = true;
      break;
    }
    if (now >= next) {
      ServeProgress p;
      p.snapshot = (*server)->Snapshot();
      p.t = double(now - start) / 1e9;
      p.accept_rate = double(p.snapshot.accepted - last_accepted) / (double(now - last_t) / 1e9);
      p.rss_bytes = sys::ResidentBytes().value_or(0);
      last_accepted = p.snapshot.accepted;
      last_t = now;
      out.peak_held = std::max(out.peak_held, p.snapshot.held());
      if (obs.on_progress) obs.on_progress(p);
      next += o.interval_ns;
      if (next <= now) next = now + o.interval_ns;
    }
    uint64_t until = o.duration_ns != 0 ? std::min(next, start + o.duration_ns) : next;
    SleepUntil(until, 20'000'000);  // wake often enough to see `stop`
  }
  out.held_before_stop = (*server)->Snapshot().held();
  out.peak_held = std::max(out.peak_held, out.held_before_stop);
  out.rss_before_stop_bytes = sys::ResidentBytes().value_or(0);
  out.seconds = double(MonotonicNanos() - start) / 1e9;
  (*server)->Stop();
  out.at_stop = (*server)->Snapshot();
  return out;
}

int RunShard(const ServeOptions& options, sys::ShardChannel& channel, uint64_t interval_ns) {
  Baseline rss_start{sys::ResidentBytes().value_or(0), sys::AnonResidentBytes().value_or(0)};
  auto server = [&] {
    sys::BlockStopSignals block;  // the workers inherit it
    return Server::Start(options);
  }();
  if (!server) {
    sys::ShardReport failed;
    failed.kind = sys::ShardKind::kFailed;
    failed.error = server.error().ToString();
    channel.Send(failed);
    return 1;
  }
  uint64_t start = MonotonicNanos();
  auto seconds = [&] { return double(MonotonicNanos() - start) / 1e9; };
  channel.Send(ToShardReport((*server)->Snapshot(), sys::ShardKind::kReady, 0, rss_start));
  uint64_t next = start + interval_ns;
  uint64_t answered = 0;
  while (!channel.stop().load()) {
    uint64_t requests = channel.report_requests().load();
    if (MonotonicNanos() >= next || requests != answered) {
      sys::ShardReport r = ToShardReport((*server)->Snapshot(), sys::ShardKind::kProgress, seconds(), rss_start);
      r.answers = answered = requests;
      if (!channel.Send(r)) break;
      next += interval_ns;
      if (next <= MonotonicNanos()) next = MonotonicNanos() + interval_ns;
    }
    SleepUntil(next, 5'000'000);
  }
  sys::ShardReport held = ToShardReport((*server)->Snapshot(), sys::ShardKind::kFinal, seconds(), rss_start);
  (*server)->Stop();
  sys::ShardReport final_report = ToShardReport((*server)->Snapshot(), sys::ShardKind::kFinal, seconds(), rss_start);
  final_report.held = held.held;  // what was held when the stop came
  final_report.rss_bytes = held.rss_bytes;
  return channel.Send(final_report) ? 0 : 1;
}

}  // namespace tcpmax::serve

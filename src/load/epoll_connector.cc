// The epoll connector engine (see connector.h).
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/fd.h"
#include "load/connector.h"
#include "load/connector_core.h"
#include "sys/process.h"
#include "core/token_bucket.h"

namespace tcpmax::load {
namespace {

constexpr uint64_t kFree = 0;
// Other values carry a time in their upper bits and a tag in the low two:
// 2 connecting since then, 1 held (established) since then.
constexpr uint64_t kHeldTag = 1, kConnectingTag = 2;
constexpr uint64_t Since(uint64_t t, uint64_t tag) { return (t & ~uint64_t{3}) | tag; }
constexpr bool Held(uint64_t s) { return (s & 3) == kHeldTag; }
constexpr bool Connecting(uint64_t s) { return (s & 3) == kConnectingTag; }

class EpollWorker : public ConnectorCore<EpollWorker> {
 public:
  EpollWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report)
      : ConnectorCore(plan, stop, report) {
    state_.reserve(std::min<uint64_t>(sys::SoftNofile().value_or(1024), 1u << 20));
    if (plan.session != nullptr && plan.session->active()) {
      auto d = SessionDriver::Make(*plan.session, &stats_, start_ns_);
      if (d) driver_ = std::move(*d);
      driver_error_ = !d;
      for (const Endpoint& t : plan.plan->targets()) hosts_.push_back(t.ToString());
    }
  }

  void Run() {
    ep_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    if (driver_error_) errno = EINVAL;  // the CLI validated the TLS options; this is a bug
    if (!ep_ || driver_error_) {
      FailRest(errno);
      Publish(MonotonicNanos());
      return;
    }
    epoll_event events[512];
    PingPacer pings(plan_.ping_interval_ns, start_ns_);
    const SessionOptions* so = driver_ ? &driver_->options() : nullptr;
    PingPacer messages(so ? so->message_interval_ns : 0, start_ns_);
    PingPacer sweeps(so ? SweepInterval(*so) : 0, start_ns_);
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t now = MonotonicNanos();
      OpenSome(now);
      ExpireTimeouts(now);
      auto [from, to] = pings.Due(now, state_.size());
      if (from < to) PingRange(from, to);
      if (driver_) {
        auto [mfrom, mto] = messages.Due(now, state_.size());
        if (mfrom < mto) SessionRange(mfrom, mto, &SessionDriver::SendMessage);
        auto [sfrom, sto] = sweeps.Due(now, state_.size());
        if (sfrom < sto) SweepRange(sfrom, sto, now);
      }
      uint64_t hint = std::min({pings.WaitHint(now), messages.WaitHint(now), sweeps.WaitHint(now)});
      timespec wait = WaitTime(now, hint);
      int n = ::epoll_pwait2(ep_.get(), events, 512, &wait, nullptr);
      now = MonotonicNanos();
      for (int i = 0; i < n; ++i) HandleEvent(events[i].data.fd, events[i].events, now);
      bool was_ramping = stats_.ramp_seconds == 0;
      NoteRamp();
      // The handshakes' transient buffers are free now: give them back, so
      // the RSS shows what the held sessions keep.
      if (driver_ && was_ramping && stats_.ramp_seconds != 0) sys::TrimHeap();
      MaybePublish(now);
    }
    if (driver_) Drain();
    CloseAll();
    Publish(MonotonicNanos());
  }

 private:
  friend class ConnectorCore<EpollWorker>;  // calls OpenOne
  timespec WaitTime(uint64_t now, uint64_t ping_wait) {
    uint64_t wait = kPublishNs;
    if (WantsToken()) wait = std::min(wait, bucket_.NanosUntilToken(now));
    if (!connecting_.empty()) {
      uint64_t deadline = connecting_.front().second + plan_.connect_timeout_ns;
      wait = std::min(wait, deadline > now ? deadline - now : 0);
    }
    wait = std::min(wait, ping_wait);
    return timespec{static_cast<time_t>(wait / 1'000'000'000ull), static_cast<long>(wait % 1'000'000'000ull)};
  }

  uint64_t& Slot(int fd) {
    if (static_cast<size_t>(fd) >= state_.size()) {
      state_.resize(std::max<size_t>(fd + 1, state_.size() * 2), kFree);
      if (driver_) sessions_.resize(state_.size());
    }
    return state_[fd];
  }

  // After the stop, before closing: no new messages or pings; the answers in
  // flight get up to kDrainNs to arrive, so "every ping answered" can be
  // exact instead of "all but those in flight". Bounded: a peer that never
  // answers costs kDrainNs once.
  static constexpr uint64_t kDrainNs = 3'000'000'000ull;
  bool AnswersInFlight() const {
    const SessionStats& ss = stats_.session;
    return ss.messages_sent > ss.messages_received || stats_.pings_sent > stats_.pongs + stats_.pongs_bad;
  }
  void Drain() {
    uint64_t end = MonotonicNanos() + kDrainNs;
    epoll_event events[512];
    while (AnswersInFlight() && MonotonicNanos() < end) {
      timespec wait{0, 10'000'000};
      int n = ::epoll_pwait2(ep_.get(), events, 512, &wait, nullptr);
      uint64_t now = MonotonicNanos();
      for (int i = 0; i < n; ++i) HandleEvent(events[i].data.fd, events[i].events, now);
      MaybePublish(now);
    }
  }

  // How often the session timers (idle timeout, lifetime) are visited.
  static uint64_t SweepInterval(const SessionOptions& o) {
    uint64_t every = UINT64_MAX;
    if (o.idle_timeout_ns > 0) every = std::min(every, o.idle_timeout_ns / 4);
    if (o.lifetime_ns > 0) every = std::min(every, o.lifetime_ns / 10);
    if (every == UINT64_MAX) return 0;
    return std::clamp<uint64_t>(every, 10'000'000, 1'000'000'000);
  }

  void OpenOne(uint64_t index, bool reopen = false) {
    if (!reopen) ++stats_.attempted;
    const SourcePlan& sp = *plan_.plan;
    int fd = OpenBoundSocket(sp.family(), sp.SourceOf(index), true, sp.PortOf(index));
    if (fd < 0) return Fail(-fd);
    uint64_t t0 = MonotonicNanos();
    socklen_t len;
    const sockaddr* to = sp.TargetAddr(index, &len);
    int rc = ::connect(fd, to, len);
    if (rc != 0 && errno != EINPROGRESS) {
      int err = errno;
      ::close(fd);
      return Fail(err);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      int err = errno;
      ::close(fd);
      return Fail(err);
    }
    uint64_t since = Since(t0, kConnectingTag);
    Slot(fd) = since;
    if (driver_) sessions_[fd].index = index;
    ++stats_.inflight;
    connecting_.emplace_back(fd, since);
    if (rc == 0) OnConnectDone(fd, 0, MonotonicNanos());
  }

  void OnConnectDone(int fd, int err, uint64_t now) {
    uint64_t& s = Slot(fd);
    uint64_t t0 = s;
    --stats_.inflight;
    if (err != 0) {
      s = kFree;
      ::close(fd);
      return Fail(err);
    }
    s = Since(now, kHeldTag);
    ++stats_.opened;
    if (!driver_ && !plan_.watch_held && plan_.ping_interval_ns == 0) {
      // Unwatched hold: the epoll item goes, the socket stays (connector.h).
      ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
    t0 &= ~uint64_t{3};
    stats_.connect_ns.Record(now > t0 ? now - t0 : 1);
    if (driver_) {
      uint64_t index = sessions_[fd].index;
      const std::string& host = hosts_[index % hosts_.size()];
      Act(fd, driver_->Open(sessions_[fd], fd, index, host, now));
    }
  }

  // Carries out what the session layer decided for `fd`.
  void Act(int fd, SessionVerdict v) {
    if (v == SessionVerdict::kKeep || !Held(state_[fd])) return;
    uint64_t index = sessions_[fd].index;
    // A --lifetime close is ours, not the peer's: not in closed_after_ns.
    CloseHeld(fd, MonotonicNanos(), /*by_peer=*/v != SessionVerdict::kReopen);
    if (v == SessionVerdict::kReopen) OpenOne(index, /*reopen=*/true);
  }

  void SessionRange(size_t from, size_t to, SessionVerdict (SessionDriver::*send)(ClientSession&, uint64_t, uint64_t)) {
    for (size_t fd = from; fd < to; ++fd) {
      if (!Held(state_[fd])) continue;
      Act(static_cast<int>(fd), (driver_.get()->*send)(sessions_[fd], static_cast<int>(fd), MonotonicNanos()));
    }
  }

  void SweepRange(size_t from, size_t to, uint64_t now) {
    for (size_t fd = from; fd < to; ++fd) {
      if (Held(state_[fd])) Act(static_cast<int>(fd), driver_->Sweep(sessions_[fd], static_cast<int>(fd), now));
    }
  }

  void HandleEvent(int fd, uint32_t events, uint64_t now) {
    uint64_t s = Slot(fd);
    if (s == kFree) return;
    if (Connecting(s)) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      OnConnectDone(fd, err, now);
      if (err != 0) return;
    }
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    if (!driver_) return ReadHeld(fd, now);
    if (!Held(state_[fd])) return;  // the session failed while opening
    int err = 0;
    SessionVerdict v = driver_->OnReadable(sessions_[fd], fd, now, &err);
    if (err != 0) stats_.errors.Record(err);
    Act(fd, v);
  }

  void ReadHeld(int fd, uint64_t now) {
    for (;;) {
      ssize_t n = ::recv(fd, buf_, sizeof buf_, MSG_DONTWAIT);
      if (n > 0) {
        CountPongs(static_cast<size_t>(n), now);
        if (static_cast<size_t>(n) < sizeof buf_) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) stats_.errors.Record(errno);
      CloseHeld(fd, now);
      return;
    }
  }

  void CountPongs(size_t n, uint64_t now) {
    if (n % kPingBytes != 0) ++stats_.pongs_bad;
    for (size_t off = 0; off + kPingBytes <= n; off += kPingBytes) {
      uint64_t rtt = PongRtt(buf_ + off, now, start_ns_);
      if (rtt == 0) {
        ++stats_.pongs_bad;
      } else {
        ++stats_.pongs;
        stats_.rtt_ns.Record(rtt);
      }
    }
  }

  // The peer closed (or an error ended) a held connection: counted with how
  // long it had been established.
  void CloseHeld(int fd, uint64_t now, bool by_peer = true) {
    uint64_t since = Slot(fd) & ~uint64_t{3};
    if (by_peer) stats_.closed_after_ns.Record(now > since ? now - since : 1);
    Slot(fd) = kFree;
    if (driver_) driver_->Release(sessions_[fd]);
    ::close(fd);
    ++stats_.closed;
  }

  void ExpireTimeouts(uint64_t now) {
    while (!connecting_.empty()) {
      auto [fd, since] = connecting_.front();
      if (Slot(fd) == since) {
        if (now < since || now - since < plan_.connect_timeout_ns) return;
        OnConnectDone(fd, limits::kTimeoutErrno, now);
      }
      connecting_.pop_front();
    }
  }

  void PingRange(size_t from, size_t to) {
    if (driver_) return SessionRange(from, to, &SessionDriver::SendPing);
    uint8_t probe[kPingBytes];
    std::memcpy(probe, &kPingMagic, 8);
    for (size_t fd = from; fd < to; ++fd) {
      if (!Held(state_[fd])) continue;
      uint64_t now = MonotonicNanos();
      std::memcpy(probe + 8, &now, 8);
      ssize_t n = ::send(static_cast<int>(fd), probe, sizeof probe, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(sizeof probe)) {
        ++stats_.pings_sent;
      } else if (n < 0 && errno != EAGAIN) {
        stats_.errors.Record(errno);
        CloseHeld(static_cast<int>(fd), now);
      }
    }
  }

  void CloseAll() {
    for (size_t fd = 0; fd < state_.size(); ++fd) {
      if (state_[fd] == kFree) continue;
      if (Connecting(state_[fd])) --stats_.inflight;
      state_[fd] = kFree;
      if (driver_) driver_->Release(sessions_[fd]);
      ::close(static_cast<int>(fd));
    }
  }

  Fd ep_;
  std::vector<uint64_t> state_;  // per fd: kFree or Since(t, tag)
  std::unique_ptr<SessionDriver> driver_;  // the session layer, when on
  bool driver_error_ = false;
  std::vector<ClientSession> sessions_;    // per fd, beside state_, when the session layer is on
  std::vector<std::string> hosts_;         // per target: the Host header ("127.0.0.1:8080")
  std::deque<std::pair<int, uint64_t>> connecting_;  // (fd, start) in start order
  uint8_t buf_[16 * 1024];
};

}  // namespace

void RunEpollWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report) {
  EpollWorker(plan, stop, report).Run();
}

}  // namespace tcpmax::load

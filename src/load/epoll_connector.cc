// The epoll connector engine (see connector.h).
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
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
  }

  void Run() {
    ep_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
    if (!ep_) {
      FailRest(errno);
      Publish(MonotonicNanos());
      return;
    }
    epoll_event events[512];
    PingPacer pings(plan_.ping_interval_ns, start_ns_);
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t now = MonotonicNanos();
      OpenSome(now);
      ExpireTimeouts(now);
      auto [from, to] = pings.Due(now, state_.size());
      if (from < to) PingRange(from, to);
      timespec wait = WaitTime(now, pings.WaitHint(now));
      int n = ::epoll_pwait2(ep_.get(), events, 512, &wait, nullptr);
      now = MonotonicNanos();
      for (int i = 0; i < n; ++i) HandleEvent(events[i].data.fd, events[i].events, now);
      NoteRamp();
      MaybePublish(now);
    }
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
    if (static_cast<size_t>(fd) >= state_.size()) state_.resize(std::max<size_t>(fd + 1, state_.size() * 2), kFree);
    return state_[fd];
  }

  void OpenOne(uint64_t index) {
    ++stats_.attempted;
    const SourcePlan& sp = *plan_.plan;
    int fd = OpenBoundSocket(sp.family(), sp.SourceOf(index), true);
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
    t0 &= ~uint64_t{3};
    stats_.connect_ns.Record(now > t0 ? now - t0 : 1);
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
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadHeld(fd, now);
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
  void CloseHeld(int fd, uint64_t now) {
    uint64_t since = Slot(fd) & ~uint64_t{3};
    stats_.closed_after_ns.Record(now > since ? now - since : 1);
    Slot(fd) = kFree;
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
      ::close(static_cast<int>(fd));
    }
  }

  Fd ep_;
  std::vector<uint64_t> state_;  // per fd: kFree or Since(t, tag)
  std::deque<std::pair<int, uint64_t>> connecting_;  // (fd, start) in start order
  uint8_t buf_[16 * 1024];
};

}  // namespace

void RunEpollWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report) {
  EpollWorker(plan, stop, report).Run();
}

}  // namespace tcpmax::load

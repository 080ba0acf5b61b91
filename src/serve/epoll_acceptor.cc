#include "serve/epoll_acceptor.h"

#include <algorithm>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/clock.h"
#include "sys/process.h"

namespace tcpmax::serve {
namespace {

constexpr uint64_t kListenerTag = 1ull << 40;
constexpr uint64_t kStopTag = 1ull << 41;
constexpr size_t kBufferBytes = 64 * 1024;
constexpr int kAcceptBurst = 256;
constexpr uint64_t kPauseNs = 50'000'000;
constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;

size_t FdCapacity() { return static_cast<size_t>(std::min<uint64_t>(sys::SoftNofile().value_or(1024), 1u << 24)); }

}  // namespace

Result<void> EpollWorker::Setup() {
  epoll_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return ErrnoError("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kStopTag;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ctx_.stop_fd, &ev) != 0) return ErrnoError("epoll_ctl add stop eventfd");
  for (size_t i = 0; i < ctx_.listeners.size(); ++i) {
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | i;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ctx_.listeners[i], &ev) != 0)
      return ErrnoError("epoll_ctl add listener");
  }
  size_t cap = FdCapacity();
  buf_.resize(kBufferBytes);
  owned_.assign((cap + 63) / 64, 0);
  if (ctx_.mode == ServeMode::kHttp) http_.assign(cap, HttpScanState::kText);
  if (ctx_.session.active()) {
    driver_ = std::make_unique<ServerSessionDriver>(ctx_.session, ctx_.mode);
    sessions_.resize(std::min<size_t>(cap, 4096));  // grows with the highest fd (Admit)
  }
  return {};
}

void EpollWorker::Run() {
  epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epoll_.get(), events, 256, WaitTimeoutMs(MonotonicNanos()));
    if (n < 0 && errno != EINTR) {
      ctx_.counters->RecordError(errno);
      break;
    }
    if (paused_until_ns_ != 0 && MonotonicNanos() >= paused_until_ns_) ResumeAccepting();
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == kStopTag) {
        stop = true;
      } else if ((key & kListenerTag) != 0) {
        AcceptBurst(ctx_.listeners[key & 0xffffffffu]);
      } else if (!pending_.empty() && pending_.count(static_cast<int>(key)) != 0) {
        OnWritable(static_cast<int>(key));  // backpressure: flush before reading (or seeing EOF)
      } else {
        OnReadable(static_cast<int>(key));
      }
    }
    if (stop) break;
  }
  CloseAll();
}

int EpollWorker::WaitTimeoutMs(uint64_t now_ns) const {
  if (paused_until_ns_ == 0) return -1;
  if (now_ns >= paused_until_ns_) return 0;
  return static_cast<int>((paused_until_ns_ - now_ns) / 1'000'000 + 1);
}

void EpollWorker::AcceptBurst(int listener) {
  for (int i = 0; i < kAcceptBurst && paused_until_ns_ == 0; ++i) {
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Admit(fd);
      continue;
    }
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR) continue;
    ctx_.counters->RecordError(err);
    if (err == ECONNABORTED || err == EPROTO) continue;  // that client gave up; others may wait
    PauseAccepting(MonotonicNanos());                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: back off
  }
}

void EpollWorker::Admit(int fd) {
  ctx_.counters->accepted.Add();
  if (ctx_.gate != nullptr && !ctx_.gate->TryAdmit()) {
    ::close(fd);  // RST: SO_LINGER 0 is inherited from the listener
    ctx_.counters->rejected.Add();
    ctx_.counters->closed.Add();
    PauseAccepting(MonotonicNanos());
    return;
  }
  if (!ctx_.watch_held && ctx_.mode == ServeMode::kHold && !driver_ &&
      static_cast<size_t>(fd) / 64 < owned_.size()) {
    owned_[fd / 64] |= 1ull << (fd % 64);  // unwatched hold: owned (closed at exit), never polled
    return;
  }
  epoll_event ev{};
  ev.events = kReadEvents;
  ev.data.u64 = static_cast<uint64_t>(fd);
  if (static_cast<size_t>(fd) / 64 >= owned_.size() || epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = static_cast<size_t>(fd) / 64 >= owned_.size() ? EMFILE : errno;
    ::close(fd);
    if (ctx_.gate != nullptr) ctx_.gate->Release();
    ctx_.counters->RecordError(err);  // ENOSPC: fs.epoll.max_user_watches
    ctx_.counters->closed.Add();
    PauseAccepting(MonotonicNanos());
    return;
  }
  owned_[fd / 64] |= 1ull << (fd % 64);
  if (!driver_) return;
  if (static_cast<size_t>(fd) >= sessions_.size()) sessions_.resize(std::max<size_t>(fd + 1, sessions_.size() * 2));
  if (!driver_->Open(sessions_[fd])) Close(fd, ENOMEM);
}

void EpollWorker::OnReadable(int fd) {
  if (driver_) {
    SessionRead(fd);
  } else if (ctx_.mode == ServeMode::kHold) {
    HoldRead(fd);
  } else {
    ReplyRead(fd);
  }
}

void EpollWorker::HoldRead(int fd) {
  for (;;) {
    ssize_t n = ::read(fd, buf_.data(), buf_.size());
    if (n > 0) {
      if (static_cast<size_t>(n) < buf_.size()) return;
      continue;
    }
    if (n == 0) return Close(fd, 0);
    if (errno == EAGAIN || errno == EINTR) return;
    return Close(fd, errno);
  }
}

void EpollWorker::ReplyRead(int fd) {
  ssize_t n = ::read(fd, buf_.data(), buf_.size());
  if (n == 0) return Close(fd, 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) Close(fd, errno);
    return;
  }
  std::string_view data(buf_.data(), static_cast<size_t>(n));
  if (ctx_.mode == ServeMode::kEcho) {
    Send(fd, data);
    return;
  }
  size_t requests = CountHttpRequests(data, &http_[fd]);
  while (requests > 0) {
    size_t batch = requests < kHttpBatch ? requests : kHttpBatch;
    if (!Send(fd, HttpResponses(batch))) {
      auto it = pending_.find(fd);
      if (it == pending_.end()) return;  // Send closed the connection
      // Backpressure: queue the rest behind what Send kept.
      for (requests -= batch; requests > 0; --requests) it->second.append(HttpResponse());
      return;
    }
    requests -= batch;
  }
}

// One read through the session layer; its output goes out with the same
// backpressure as echo and http replies.
void EpollWorker::SessionRead(int fd) {
  ssize_t n = ::read(fd, buf_.data(), buf_.size());
  if (n == 0) return Close(fd, 0);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) Close(fd, errno);
    return;
  }
  out_.clear();
  bool keep = driver_->OnBytes(sessions_[fd], reinterpret_cast<uint8_t*>(buf_.data()), static_cast<size_t>(n), &out_);
  PublishSessionCounts();
  if (!out_.empty() && !Send(fd, out_) && pending_.count(fd) == 0) return;  // Send closed it
  if (!keep) {
    if (pending_.count(fd) != 0) return;  // closed once the output drained: the peer sees it and ends
    Close(fd, 0);
  }
}

void EpollWorker::PublishSessionCounts() { ctx_.counters->SetSessionCounts(driver_->counts()); }

bool EpollWorker::Send(int fd, std::string_view data) {
  auto it = pending_.find(fd);
  if (it != pending_.end()) {
    it->second.append(data);
    return false;
  }
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      Close(fd, errno);
      return false;
    }
    pending_[fd].assign(data);
    epoll_event ev{};
    ev.events = EPOLLOUT;  // stop reading (and seeing EOF) until the output drains
    ev.data.u64 = static_cast<uint64_t>(fd);
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
    return false;
  }
  return true;
}

void EpollWorker::OnWritable(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  std::string out = std::move(it->second);
  pending_.erase(it);
  epoll_event ev{};
  ev.events = kReadEvents;
  ev.data.u64 = static_cast<uint64_t>(fd);
  epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
  Send(fd, out);  // re-arms EPOLLOUT if it still does not all fit
}

void EpollWorker::Close(int fd, int err) {
  if (err == ECONNRESET || err == EPIPE) {
    ctx_.counters->resets.Add();
  } else if (err != 0) {
    ctx_.counters->RecordError(err);
  }
  if (err == 0 && ctx_.mode != ServeMode::kHold) {
    // The peer ended with FIN: close gracefully so queued replies reach it
    // (the inherited SO_LINGER 0 would reset and drop them). In hold mode
    // the RST is wanted: it spares the peer its TIME_WAIT.
    linger off{0, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
  }
  owned_[fd / 64] &= ~(1ull << (fd % 64));
  if (!http_.empty()) http_[fd] = HttpScanState::kText;
  if (!pending_.empty()) pending_.erase(fd);
  if (driver_) driver_->Release(sessions_[fd]);
  ::close(fd);  // also removes it from the epoll set
  ctx_.counters->closed.Add();
  if (ctx_.gate != nullptr) ctx_.gate->Release();
}

void EpollWorker::PauseAccepting(uint64_t now_ns) {
  if (paused_until_ns_ != 0) return;
  paused_until_ns_ = now_ns + kPauseNs;
  for (size_t i = 0; i < ctx_.listeners.size(); ++i) {
    epoll_event ev{};
    ev.data.u64 = kListenerTag | i;
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, ctx_.listeners[i], &ev);
  }
}

void EpollWorker::ResumeAccepting() {
  paused_until_ns_ = 0;
  for (size_t i = 0; i < ctx_.listeners.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | i;
    epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, ctx_.listeners[i], &ev);
  }
}

void EpollWorker::CloseAll() {
  for (size_t w = 0; w < owned_.size(); ++w) {
    for (uint64_t bits = owned_[w]; bits != 0; bits &= bits - 1) ::close(static_cast<int>(w * 64 + __builtin_ctzll(bits)));
    owned_[w] = 0;
  }
}

}  // namespace tcpmax::serve

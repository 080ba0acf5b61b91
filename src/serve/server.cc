#include "serve/server.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <memory>

#include "serve/epoll_acceptor.h"
#include "serve/uring_acceptor.h"
#include "serve/listener.h"
#include "sys/process.h"

namespace tcpmax::serve {
namespace {

unsigned TableSlots() {
  return static_cast<unsigned>(std::min<uint64_t>(sys::SoftNofile().value_or(1024), 1u << 20));
}

template <typename Worker>
void WorkerMain(Worker* worker, std::promise<Result<void>>* ready) {
  Result<void> r = worker->Setup();
  bool ok = r.has_value();
  ready->set_value(std::move(r));
  if (ok) worker->Run();
}

}  // namespace

std::string_view ToString(ServeMode m) {
  switch (m) {
    case ServeMode::kHold: return "hold";
    case ServeMode::kEcho: return "echo";
    case ServeMode::kHttp: return "http";
  }
  return "?";
}


Result<std::unique_ptr<Server>> Server::Start(const ServeOptions& options) {
  std::unique_ptr<Server> s(new Server());
  if (auto r = s->Launch(options); !r) {
    s->Stop();
    return tl::unexpected(r.error());
  }
  return s;
}

Result<void> Server::Launch(const ServeOptions& options) {
  int somax = Somaxconn();
  backlog_ = options.backlog > 0 && options.backlog < somax ? options.backlog : somax;
  workers_ = options.workers > 0 ? options.workers : 1;
  for (const Endpoint& ep : options.listen) {
    auto reserved = ReserveEndpoint(ep);
    if (!reserved) return tl::unexpected(reserved.error());
    endpoints_.push_back(*reserved);
  }
  for (int w = 0; w < workers_; ++w) {
    for (const Endpoint& ep : endpoints_) {
      auto fd = OpenListener(ep, backlog_);
      if (!fd) return tl::unexpected(fd.error());
      listeners_.push_back(std::move(*fd));
    }
  }
  stop_fd_ = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_) return ErrnoError("eventfd");
  if (options.max_conns > 0) gate_ = std::make_unique<ConnGate>(options.max_conns);
  counters_ = std::make_unique<ServeCounters[]>(static_cast<size_t>(workers_));

  unsigned slots = TableSlots();
  for (int w = 0; w < workers_; ++w) {
    WorkerContext ctx;
    ctx.index = w;
    for (size_t e = 0; e < endpoints_.size(); ++e) ctx.listeners.push_back(listeners_[w * endpoints_.size() + e].get());
    ctx.stop_fd = stop_fd_.get();
    ctx.mode = options.mode;
    ctx.gate = gate_.get();
    ctx.counters = &counters_[w];
    ctx.session = options.session;
    ctx.watch_held = options.watch_held;
    auto ready = std::make_shared<std::promise<Result<void>>>();
    auto started = ready->get_future();
    if (options.engine == Engine::kUring) {
      threads_.emplace_back([ctx, slots, backlog = backlog_, ready] {
        UringWorker worker(ctx, slots, backlog);
        WorkerMain(&worker, ready.get());
      });
    } else {
      threads_.emplace_back([ctx, ready] {
        EpollWorker worker(ctx);
        WorkerMain(&worker, ready.get());
      });
    }
    Result<void> r = started.get();
    if (!r) return tl::unexpected(Error{r.error().code, "worker " + std::to_string(w) + ": " + r.error().context});
  }
  return {};
}

Server::~Server() { Stop(); }

ServeSnapshot Server::Snapshot() const {
  ServeSnapshot s;
  for (int w = 0; w < workers_ && counters_ != nullptr; ++w) counters_[w].AddTo(&s);
  return s;
}

void Server::Stop() {
  if (stop_fd_) {
    uint64_t one = 1;
    ssize_t n = write(stop_fd_.get(), &one, sizeof one);
    (void)n;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  listeners_.clear();
}

}  // namespace tcpmax::serve

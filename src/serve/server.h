// Server: the engine behind `tcpmax serve`. It binds the --listen endpoints
// (one SO_REUSEPORT listener per endpoint per worker, so the kernel spreads
// connections over workers), runs one worker thread per core with the chosen
// engine (epoll, or io_uring with direct descriptors), and counts.
//
// Ownership: Server owns the listeners, the worker threads and, through the
// workers, every accepted connection. Stop() (or the destructor) wakes the
// workers, which close their connections with RST (SO_LINGER 0, inherited
// from the listener) and exit; nothing is left listening afterwards.
// Thread-safety: Start/Stop from one controlling thread; Snapshot() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "core/address.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/fd.h"
#include "serve/session.h"
#include "serve/stats.h"

namespace tcpmax::serve {

enum class ServeMode { kHold, kEcho, kHttp };
inline constexpr ServeMode kServeModes[] = {ServeMode::kHold, ServeMode::kEcho, ServeMode::kHttp};

std::string_view ToString(ServeMode m);

struct ServeOptions {
  std::vector<Endpoint> listen;         // port 0 = any free port
  ServeMode mode = ServeMode::kHold;
  Engine engine = Engine::kEpoll;    // kEpoll or kUring (resolve kAuto: ChooseEngine)
  int workers = 1;                      // threads; each has its own listeners
  int backlog = 0;                      // 0 = net.core.somaxconn
  uint64_t max_conns = 0;               // 0 = unlimited; else held at most this many
  SessionSetup session;                 // --tls / --proto ws (either engine; auto means epoll)
  // Hold mode only. False (--no-watch): an accepted connection is not watched
  // (no epoll item, no armed io_uring recv), so it costs the kernel its socket
  // alone; a client's close is then not seen (the socket stays in CLOSE-WAIT
  // until serve exits).
  bool watch_held = true;
};

// Admission control for --max-conns: one shared count, touched only on accept
// and close, and only when a limit was given.
class ConnGate {
 public:
  explicit ConnGate(uint64_t max) : max_(max) {}
  bool TryAdmit() {
    if (held_.fetch_add(1, std::memory_order_relaxed) < max_) return true;
    held_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void Release() { held_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const uint64_t max_;
  std::atomic<uint64_t> held_{0};
};

// What a worker thread gets from the Server. Pointers outlive the worker.
struct WorkerContext {
  int index = 0;
  std::vector<int> listeners;   // this worker's listening sockets (non-blocking)
  int stop_fd = -1;             // eventfd; readable once Stop() was called
  ServeMode mode = ServeMode::kHold;
  ConnGate* gate = nullptr;     // nullptr without --max-conns
  ServeCounters* counters = nullptr;
  SessionSetup session;         // TLS / WebSocket sessions, when on
  bool watch_held = true;       // ServeOptions::watch_held
};

class Server {
 public:
  // Binds every endpoint (error: "listen 127.0.0.1:7000: EADDRINUSE (...)"),
  // starts the workers and returns once all of them accept connections.
  static Result<std::unique_ptr<Server>> Start(const ServeOptions& options);
  ~Server();

  // The endpoints actually listened on (port 0 resolved).
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  int backlog() const { return backlog_; }
  // Sums the workers' counters.
  ServeSnapshot Snapshot() const;
  // Wakes and joins the workers; they close every connection they hold.
  // Counters keep their values as of the stop. Idempotent.
  void Stop();

 private:
  Server() = default;
  Result<void> Launch(const ServeOptions& options);

  std::vector<Endpoint> endpoints_;
  int backlog_ = 0;
  std::vector<Fd> listeners_;                  // worker-major: [worker][endpoint]
  std::unique_ptr<ServeCounters[]> counters_;  // one per worker
  int workers_ = 0;
  std::unique_ptr<ConnGate> gate_;
  Fd stop_fd_;
  std::vector<std::thread> threads_;
};

}  // namespace tcpmax::serve

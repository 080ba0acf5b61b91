// The metrics listener (--metrics ADDR:PORT): a small HTTP/1.0 server on its
// own thread that answers GET /metrics with the latest exposition text.
//
// The command builds the text on its own thread whenever its figures change
// (each progress tick) and hands it over with Publish(); the listener only
// copies the string under a mutex, so no counter is shared across threads.
// One connection at a time, each bounded (4 KiB request, 2 s), so a slow or
// hostile scraper cannot hold the process. The socket is opened on the
// caller's thread at Start(), in the caller's network namespace.
// Thread-safety: Publish from any thread; Stop/destructor from the owner.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/address.h"
#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::metrics {

class MetricsServer {
 public:
  // Listens on `at` (port 0: any; see endpoint()). Errors carry the errno
  // (EADDRINUSE...).
  static Result<std::unique_ptr<MetricsServer>> Start(const Endpoint& at);
  ~MetricsServer();

  void Publish(std::string text);
  const Endpoint& endpoint() const { return endpoint_; }
  uint64_t scrapes() const { return scrapes_.load(); }

 private:
  MetricsServer(Fd listener, Fd wake, Endpoint at);
  void Loop();
  void Answer(int fd);

  Fd listener_;
  Fd wake_;  // eventfd: the destructor wakes the loop
  Endpoint endpoint_;
  std::mutex mu_;
  std::string text_;
  std::atomic<uint64_t> scrapes_{0};
  std::thread thread_;
};

// Parses --metrics "ADDR:PORT" (one port; port 0 allowed).
Result<Endpoint> ParseMetricsAddress(std::string_view text);

}  // namespace tcpmax::metrics

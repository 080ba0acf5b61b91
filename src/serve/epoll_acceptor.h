// EpollWorker: one `serve` worker on epoll. Level-triggered; each connection
// is a plain fd whose number is the epoll key, so hold mode keeps no
// user-space state per connection beyond one bit in an ownership bitmap
// (used to close everything on stop). One receive buffer per worker.
//
// Echo and http modes keep unsent output only for connections whose socket
// buffer is full (backpressure); the connection is then not read until the
// output drains. Http keeps one byte of request-scanner state per fd.
//
// Limits it meets: RLIMIT_NOFILE (accept EMFILE), fs.file-max (ENFILE),
// fs.epoll.max_user_watches (epoll_ctl ENOSPC); each is counted and accepting
// pauses 50 ms before retrying.
// Thread-safety: a worker is used by the thread that created it only.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "serve/http_scan.h"
#include "serve/server.h"

namespace tcpmax::serve {

class EpollWorker {
 public:
  explicit EpollWorker(const WorkerContext& ctx) : ctx_(ctx) {}
  // Creates the epoll set and registers the listeners and the stop eventfd.
  Result<void> Setup();
  // Serves until the stop eventfd fires, then closes every connection.
  void Run();

 private:
  void AcceptBurst(int listener);
  void Admit(int fd);
  void OnReadable(int fd);
  void OnWritable(int fd);
  void HoldRead(int fd);
  void ReplyRead(int fd);
  // Writes `data`; keeps what the socket does not take and waits for EPOLLOUT.
  bool Send(int fd, std::string_view data);
  void Close(int fd, int err);
  void PauseAccepting(uint64_t now_ns);
  void ResumeAccepting();
  int WaitTimeoutMs(uint64_t now_ns) const;
  void CloseAll();

  WorkerContext ctx_;
  Fd epoll_;
  std::vector<char> buf_;                           // the worker's one receive buffer
  std::vector<uint64_t> owned_;                     // bitmap by fd: connections this worker holds
  std::vector<HttpScanState> http_;                 // by fd, http mode only
  std::unordered_map<int, std::string> pending_;    // unsent output (echo/http backpressure)
  uint64_t paused_until_ns_ = 0;                    // accepting paused until then (0 = not paused)
  std::unique_ptr<ServerSessionDriver> driver_;     // --tls / --proto ws
  std::vector<ServerSession> sessions_;             // by fd, when the driver is on
  std::string out_;                                 // a session's output being sent
  void SessionRead(int fd);
  void PublishSessionCounts();
};

}  // namespace tcpmax::serve

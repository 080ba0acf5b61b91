// UringWorker: one `serve` worker on io_uring with direct descriptors.
//
// Connections never get a file descriptor: a multishot accept per listener
// installs each one into the ring's registered (sparse) file table, slot
// chosen by the kernel (IORING_FILE_INDEX_ALLOC). A table holds at most
// RLIMIT_NOFILE slots, so the worker owns as many rings as it needs: when
// the accepting ring is nearly full (free slots < margin, where the margin
// covers a burst of one listen backlog per listener) it cancels its accepts
// and arms them on a ring with room, or on a new ring. One process thus holds
// far more connections than RLIMIT_NOFILE; each ring costs one fd.
//
// Hold mode: one multishot recv per connection draws from the ring's small
// provided-buffer pool (sys::BufRing); data is discarded and the buffer recycled
// at once, EOF or RST closes the slot. No user-space state per connection:
// the slot number travels in the CQE's user_data. Http mode uses a
// single-shot recv per turn (recv -> send with MSG_WAITALL ->
// recv), so replies stay in order; http keeps 4 bytes per slot (scanner
// state and responses still to send). Echo mode and sessions keep one
// multishot recv armed per connection and send in order: one send in flight
// per connection, output produced meanwhile queued behind it (a generation
// and two flags per slot tell a connection's completions apart; the sends
// are sys::UringSends).
//
// The worker waits on an epoll set holding the stop eventfd and one eventfd
// registered with every ring. Rings are SINGLE_ISSUER + DEFER_TASKRUN:
// created, submitted and reaped by this thread only, and their task work
// (a receive's data, a send that waited) runs when this thread asks for
// completions, never as an interrupt. Under load a wake-up that reaped a
// batch is followed by a short pause (kCoalesceNs, 250 us) so the next
// wake-up reaps a batch too: fewer wake-ups per message, at most that much
// added latency, and only while busy.
// Thread-safety: a worker is used by the thread that created it only.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "sys/buf_ring.h"
#include "serve/server.h"

namespace tcpmax::serve {

class UringWorker {
 public:
  // `table_slots`: slots per ring's file table (<= soft RLIMIT_NOFILE);
  // `backlog`: the listen backlog, which sizes the switch-over margin.
  UringWorker(const WorkerContext& ctx, unsigned table_slots, int backlog);
  ~UringWorker();
  // Creates the first ring and arms accepts on every listener.
  Result<void> Setup();
  // Serves until the stop eventfd fires; then tears the rings down, which
  // closes every connection (RST: SO_LINGER 0 is inherited).
  void Run();

 private:
  struct Ring;

  Result<size_t> AddRing();
  void ArmAccepts(size_t r);
  void MoveAccepting();
  void StopAccepting(size_t r);
  void EndAccepts();
  void Drain(size_t r);
  void Handle(size_t r, const io_uring_cqe& cqe);
  void OnAccept(size_t r, const io_uring_cqe& cqe);
  void OnRecv(size_t r, uint32_t slot, const io_uring_cqe& cqe);
  void OnSend(size_t r, uint32_t slot, const io_uring_cqe& cqe);
  void OnHttpData(size_t r, uint32_t slot, const char* data, size_t len);
  void SendHttp(size_t r, uint32_t slot);
  void ArmRecv(size_t r, uint32_t slot);
  void CloseSlot(size_t r, uint32_t slot, int err);
  void OnSessionRecv(size_t r, uint32_t slot, uint32_t gen, const io_uring_cqe& cqe);
  void SessionSend(size_t r, uint32_t slot, std::string_view bytes);
  void OnSessionSend(size_t r, uint64_t user_data, int res);
  void AfterSessionData(size_t r, uint32_t slot, bool recv_ended);
  void RecvEnded(size_t r, uint32_t slot);
  void EndSession(size_t r, uint32_t slot, int err);
  io_uring_sqe* Sqe(size_t r);
  void FeedStarved(size_t r);

  WorkerContext ctx_;
  unsigned table_slots_;
  unsigned margin_;
  Fd epoll_;
  Fd rings_fd_;                    // eventfd registered with every ring
  std::vector<std::unique_ptr<Ring>> rings_;
  unsigned reaped_ = 0;            // completions the last wake-up handled
  size_t accepting_ = 0;           // index of the ring that accepts
  bool accept_stalled_ = false;    // no ring with room: retry at the next wake-up
  uint64_t retry_at_ns_ = 0;       // when to re-arm accepts after an error (0 = none)
  bool stopping_ = false;          // Stop() came: arm no more accepts
  std::unique_ptr<ServerSessionDriver> driver_;  // --tls / --proto ws
  // Sessions and echo mode: one multishot recv per connection and output in
  // order per connection (a copy per send, queued behind the send in flight).
  bool streams_ = false;
  std::string out_;                // a session's output being produced
};

}  // namespace tcpmax::serve

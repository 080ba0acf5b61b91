// Counters of `serve`: each worker thread owns one ServeCounters and is its
// only writer; the reporter (another thread) reads them with Snapshot().
//
// The counters are relaxed atomics written with load+store (no locked
// read-modify-write), so counting costs what a plain increment costs and the
// reader sees a consistent-enough, monotonic value.
#pragma once

#include <atomic>
#include <cstdint>

#include "limits/errno_class.h"
#include "serve/session.h"

namespace tcpmax::serve {

// A single-writer counter: Add from the owning thread, Get from any thread.
class Counter {
 public:
  void Add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// What the whole server did so far (sums over workers).
struct ServeSnapshot {
  uint64_t accepted = 0;  // connections accepted
  uint64_t closed = 0;    // connections that ended (peer FIN/RST, or rejected)
  uint64_t resets = 0;    // of `closed`: ended by the peer's RST (ECONNRESET)
  uint64_t rejected = 0;  // of `closed`: closed at once because --max-conns was reached
  uint64_t rings = 0;     // io_uring rings in use (0 for epoll)
  uint64_t table_full = 0;  // uring: accepted but dropped, the ring's file table was full
  SessionCounts session;    // --tls / --proto ws
  limits::ErrorCounts errors;     // accept and I/O failures by errno (not peer resets)

  uint64_t held() const { return accepted - closed; }
};

class alignas(64) ServeCounters {
 public:
  static constexpr int kErrnoSlots = limits::ErrorCounts::kSlots;

  Counter accepted;
  Counter closed;
  Counter resets;
  Counter rejected;
  Counter rings;
  Counter table_full;
  Counter tls_done, tls_failed, tls_parked, ws_upgrades, ws_refused, ws_messages, ws_bad_frames;

  void RecordError(int code) { errors_[code >= 0 && code < kErrnoSlots ? code : kErrnoSlots - 1].Add(); }
  // Publishes a worker's session counts (its driver's running totals).
  void SetSessionCounts(const SessionCounts& c) {
    auto set = [](Counter& counter, uint64_t v) { counter.Add(v - counter.Get()); };
    set(tls_done, c.tls_done);
    set(tls_failed, c.tls_failed);
    set(tls_parked, c.tls_parked);
    set(ws_upgrades, c.ws_upgrades);
    set(ws_refused, c.ws_refused);
    set(ws_messages, c.ws_messages);
    set(ws_bad_frames, c.ws_bad_frames);
  }
  // Adds this worker's counts into `out`.
  void AddTo(ServeSnapshot* out) const;

 private:
  Counter errors_[kErrnoSlots];
};

}  // namespace tcpmax::serve

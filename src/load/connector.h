// Connector workers: the hot loops of `tcpmax load`.
//
// A worker opens its share of the run's connections (indices first,
// first + stride, ...; `count` of them), paced by a tcpmax::TokenBucket, each from
// the source address the SourcePlan gives, with IP_BIND_ADDRESS_NO_PORT (the
// kernel picks the port per 4-tuple) and SO_LINGER 0 (closing sends RST: no
// TIME_WAIT storm at teardown). It then holds them, notices when the peer
// closes one, and with a ping interval sends a 16-byte probe (magic + send
// time) on every held connection once per interval, spread evenly over the
// interval (PingPacer), and times the echo.
//
// Engines:
//  - RunEpollWorker: non-blocking connect + one epoll set per worker. Every
//    connection is a file descriptor, so a process holds at most
//    RLIMIT_NOFILE of them (past that: more processes, see load_runner.h).
//  - RunUringWorker: io_uring with direct descriptors. Each socket is
//    installed into a ring's fixed file table and its normal descriptor
//    closed at once, so held connections use no fd; each ring's table holds
//    at most RLIMIT_NOFILE entries and the worker opens as many rings as it
//    needs. Connect has a linked timeout; one 16-byte recv per connection
//    stays armed to see pongs and peer closes.
// Per held connection a worker keeps 8 bytes (epoll) or 28 bytes (uring) of
// user-space state; no heap allocation per connection.
//
// Threading: a worker runs on its own thread and owns everything it opens.
// It publishes a LoadStats copy every ~50 ms through its WorkerReport; the
// reporter thread reads it. It stops when `stop` becomes true, closes every
// connection and publishes once more.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "core/address.h"
#include "core/error.h"
#include "load/stats.h"
#include "load/session.h"
#include "load/source_plan.h"

namespace tcpmax::load {

struct WorkerPlan {
  const SourcePlan* plan = nullptr;
  uint64_t first = 0;               // global index of this worker's first connection
  uint64_t stride = 1;              // distance between this worker's indices
  uint64_t count = 0;               // attempts this worker makes
  double rate = 0;                  // attempts per second (0: unlimited)
  uint64_t connect_timeout_ns = 3'000'000'000ull;
  uint64_t ping_interval_ns = 0;    // 0: no ping
  uint64_t max_inflight = 4096;     // connects in flight at once (the run's total is split)
  // When set and true, the worker opens nothing more but keeps what it holds
  // (the probe's memory guard and verification use it).
  const std::atomic<bool>* stop_opening = nullptr;
  // The session layer (--proto, --tls, --message...); null or inactive: plain TCP.
  const SessionOptions* session = nullptr;
  // When set, the rate is rate x 2^(pace/2): the supervisor paces a climb
  // (sys::ShardChannel::pace). Ignored when rate is 0 (unlimited).
  const std::atomic<int>* pace = nullptr;
  // When non-zero, the worker opens no more while it holds (or has in flight)
  // this many: attempts beyond `count`'s share replace connections that failed
  // or that the peer closed (probe --server climbs to a held target).
  uint64_t max_held = 0;
  // False: once established, a plain held connection (no ping, no session) is
  // not watched (no epoll item, no armed io_uring recv): the kernel keeps only
  // the socket. A peer's close is then not seen by this worker; the caller
  // counts held sockets in the kernel instead (probe's verification).
  bool watch_held = true;
};

// A worker's published figures. Thread-safe.
class WorkerReport {
 public:
  void Publish(const LoadStats& s) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = s;
  }
  LoadStats Read() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  mutable std::mutex mu_;
  LoadStats stats_;
};

void RunEpollWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report);
void RunUringWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report);


// The 16-byte ping probe: magic then the send time (MonotonicNanos).
inline constexpr uint64_t kPingMagic = 0x31506d7870637474ull;  // "ttcpmxP1"
inline constexpr size_t kPingBytes = 16;

// Spreads one ping per held connection evenly over each interval, so RTTs
// measure the path and not a burst of N sends queued behind each other:
// round k visits slots [0, total) during [start + k*I, start + (k+1)*I).
class PingPacer {
 public:
  PingPacer(uint64_t interval_ns, uint64_t start_ns) : interval_(interval_ns), round_start_(start_ns + interval_ns) {}

  // The slots [first, second) whose ping is due at `now`, out of `total`.
  std::pair<size_t, size_t> Due(uint64_t now, size_t total) {
    if (interval_ == 0 || now < round_start_) return {0, 0};
    uint64_t into = now - round_start_;
    size_t from = std::min(cursor_, total);
    size_t to = into >= interval_ ? total
                                  : static_cast<size_t>(static_cast<unsigned __int128>(into) * total / interval_);
    to = std::max(to, from);
    cursor_ = to;
    if (into >= interval_) {  // round over; skip rounds missed while busy
      cursor_ = 0;
      round_start_ += interval_ * (into / interval_);
    }
    return {from, to};
  }
  // How long the caller may sleep before pings fall due (2 ms while a round runs).
  uint64_t WaitHint(uint64_t now) const {
    if (interval_ == 0) return UINT64_MAX;
    return now < round_start_ ? round_start_ - now : 2'000'000;
  }

 private:
  uint64_t interval_;
  uint64_t round_start_;
  size_t cursor_ = 0;
};

// socket() + SO_LINGER 0 + IP_BIND_ADDRESS_NO_PORT + bind(source:0).
// Returns the descriptor or -errno.
// `port` 0: the kernel picks the port at connect (IP_BIND_ADDRESS_NO_PORT);
// else bound to it with SO_REUSEADDR (SourcePlan::PortOf).
int OpenBoundSocket(int family, const IpAddress& source, bool nonblocking, uint16_t port = 0);

// Checks one echoed probe against `now`; returns its RTT in ns or 0 when bad.
uint64_t PongRtt(const uint8_t* probe, uint64_t now_ns, uint64_t start_ns);

}  // namespace tcpmax::load

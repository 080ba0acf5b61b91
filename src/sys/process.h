// Facts about this process that the engines report: resident memory (all of
// it, and the anonymous part: heap and stacks, not the shared code pages each
// forked shard faults in), and the current soft RLIMIT_NOFILE.
//
// These are the only readers of /proc/self/statm and /proc/self/status in
// tcpmax (serve, load and userland call them). A reading that fails is an
// Error, never a plausible 0; callers that only display the figure may use
// value_or(0) and say so.
// Thread-safety: reentrant.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/error.h"

namespace tcpmax::sys {

// Resident set size in bytes (/proc/self/statm, field 2 x page size).
// This machine's host name (gethostname); "" when it cannot be read.
std::string HostName();

Result<uint64_t> ResidentBytes();
// Anonymous resident memory in bytes (RssAnon in /proc/self/status).
Result<uint64_t> AnonResidentBytes();
// The soft RLIMIT_NOFILE now (what socket() and accept() check).
Result<uint64_t> SoftNofile();
// Returns the heap memory malloc holds free to the OS (glibc malloc_trim):
// after a burst of transient buffers (TLS handshakes) the RSS then shows what
// is still in use. Thread-safe; costs a walk of the heap.
void TrimHeap();

// Sets this process's nice value (-20..19). Going lower than now needs
// CAP_SYS_NICE; the error (EACCES/EPERM) says so.
Result<void> SetNice(int nice);
// SCHED_FIFO at `priority` for this thread while the scope lives, with
// SCHED_RESET_ON_FORK so children start as ordinary processes. Needs
// CAP_SYS_NICE (or RLIMIT_RTPRIO). The destructor returns to SCHED_OTHER.
class RealtimeScope {
 public:
  static Result<RealtimeScope> Enter(int priority);
  RealtimeScope(RealtimeScope&& o) noexcept : active_(std::exchange(o.active_, false)) {}
  RealtimeScope& operator=(RealtimeScope&&) = delete;
  ~RealtimeScope();

 private:
  RealtimeScope() = default;
  bool active_ = false;
};

// Locks this process's pages in RAM, now and later (mlockall), so a
// supervisor never waits for its own pages under memory pressure. Not
// inherited by children. Needs CAP_IPC_LOCK or a large RLIMIT_MEMLOCK.
Result<void> LockMemory();
// Marks this process as the OOM killer's first choice (oom_score_adj 1000).
Result<void> PreferOomKill();

// Blocks the stop signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) in the calling
// thread while it lives, so threads started meanwhile inherit the block and
// the signals reach the thread that watches the stop flag, not a worker in a
// blocking call.
class BlockStopSignals {
 public:
  BlockStopSignals();
  ~BlockStopSignals();
  BlockStopSignals(const BlockStopSignals&) = delete;
  BlockStopSignals& operator=(const BlockStopSignals&) = delete;

 private:
  sigset_t old_;
};

}  // namespace tcpmax::sys

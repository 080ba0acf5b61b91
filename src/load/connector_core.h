// ConnectorCore: the bookkeeping both connector engines share (epoll and
// io_uring), written once: pacing (token bucket and in-flight cap), the
// per-worker statistics, failure accounting and publishing to the reporter.
// An engine derives from ConnectorCore<Engine> and provides
// `void OpenOne(uint64_t index)` (one connect attempt for connection `index`
// of the run); everything else here is engine-neutral.
// Threading: a connector and its core belong to the worker thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>

#include "core/clock.h"
#include "core/token_bucket.h"
#include "load/connector.h"

namespace tcpmax::load {

inline constexpr uint64_t kOpenBatch = 256;          // connects started per loop turn at most
inline constexpr uint64_t kPublishNs = 50'000'000;   // publish figures to the reporter this often

template <typename Engine>
class ConnectorCore {
 protected:
  ConnectorCore(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report)
      : plan_(plan), stop_(stop), report_(report), bucket_(plan.rate, std::max(1.0, plan.rate / 100), MonotonicNanos()) {
    stats_.target = plan.count;
    start_ns_ = MonotonicNanos();
  }

  // An attempt that failed with errno `code`.
  void Fail(int code) {
    ++stats_.failed;
    stats_.errors.Record(code);
  }

  // Every attempt not made yet fails with `code` (the engine cannot run).
  void FailRest(int code) {
    while (opened_index_ < plan_.count) {
      ++opened_index_;
      ++stats_.attempted;
      Fail(code);
    }
  }

  // Starts as many connects as the pace, the in-flight cap and the batch
  // allow; none once the supervisor said stop opening.
  void OpenSome(uint64_t now) {
    if (plan_.stop_opening != nullptr && plan_.stop_opening->load(std::memory_order_relaxed)) return;
    if (plan_.pace != nullptr && plan_.rate > 0) {
      int pace = plan_.pace->load(std::memory_order_relaxed);
      if (pace != pace_) {
        pace_ = pace;
        bucket_.SetRate(plan_.rate * std::exp2(pace / 2.0), now);
      }
    }
    uint64_t room = std::min(kOpenBatch, plan_.max_inflight - std::min(plan_.max_inflight, stats_.inflight));
    if (plan_.max_held > 0) room = std::min(room, plan_.max_held - std::min(plan_.max_held, HeldOrOpening()));
    uint64_t want = std::min(room, plan_.count - opened_index_);
    if (want == 0) return;
    uint64_t tokens = bucket_.Take(now, want);
    for (uint64_t k = 0; k < tokens; ++k) static_cast<Engine*>(this)->OpenOne(plan_.first + plan_.stride * opened_index_++);
  }

  // True while attempts remain and the in-flight cap leaves room: the engine
  // should wake for the next token.
  bool WantsToken() const {
    return opened_index_ < plan_.count && stats_.inflight < plan_.max_inflight &&
           (plan_.max_held == 0 || HeldOrOpening() < plan_.max_held);
  }
  uint64_t HeldOrOpening() const { return stats_.opened - stats_.closed + stats_.inflight; }

  void NoteRamp() {
    if (stats_.ramp_done() && stats_.ramp_seconds == 0) stats_.ramp_seconds = SecondsSince(start_ns_);
  }

  void Publish(uint64_t now) {
    stats_.t = static_cast<double>(now - start_ns_) / 1e9;
    last_publish_ = now;
    report_.Publish(stats_);
  }
  void MaybePublish(uint64_t now) {
    if (now - last_publish_ >= kPublishNs) Publish(now);
  }

  const WorkerPlan& plan_;
  const std::atomic<bool>& stop_;
  WorkerReport& report_;
  tcpmax::TokenBucket bucket_;
  LoadStats stats_;
  uint64_t opened_index_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t last_publish_ = 0;
  int pace_ = 0;
};

}  // namespace tcpmax::load

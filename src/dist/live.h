// Live totals of a distributed run and the coordinator that keeps them.
//
// Every rank runs a Coordinator thread beside its load. Once a period (1 s)
// each rank's thread contributes its latest figures to a reduction (a sum
// over the ranks: under MPI an MPI_Allreduce, see mpi_session.h) and gets
// the job's totals back; since every rank sees the same totals, every rank
// reaches the same decision at the same step without a message more: stop
// when --stop-when holds, or when any rank was asked to stop (a signal). A
// rank whose load has ended keeps taking part with its final figures until
// every rank is done, so the reductions stay matched.
// Thread-safety: Update/Finish from the command's thread; the callbacks run
// on the coordinator's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/error.h"

namespace tcpmax::dist {

struct LiveTotals {
  uint64_t target = 0, attempted = 0, opened = 0, failed = 0, held = 0;
  uint64_t done = 0;          // ranks whose load has ended
  uint64_t stop_asked = 0;    // ranks asked to stop (a signal)
  uint64_t ranks = 0;         // each rank contributes 1

  static constexpr int kFields = 8;
  void ToArray(uint64_t out[kFields]) const;
  static LiveTotals FromArray(const uint64_t in[kFields]);
};

// --stop-when: "failed>1%" (of the job's target), "failed>500", "held>=90%".
struct StopWhen {
  enum class What { kFailed, kOpened, kHeld };
  What what = What::kFailed;
  bool or_equal = false;
  bool percent = false;
  double value = 0;

  static Result<StopWhen> Parse(std::string_view text);
  bool Met(const LiveTotals& t) const;
  std::string ToString() const;
};

// The reduction: the sum over every rank of `local` (collective: every
// rank calls it once per step).
using Reduce = std::function<LiveTotals(const LiveTotals& local)>;

class Coordinator {
 public:
  // `on_totals` sees every step's job totals (rank 0 prints them);
  // `stop_when` may be empty. `signal_stop`: this rank's signal flag.
  Coordinator(Reduce reduce, uint64_t period_ns, std::optional<StopWhen> stop_when,
              const std::atomic<bool>& signal_stop, std::function<void(const LiveTotals&)> on_totals);
  ~Coordinator();  // joins (after Finish)

  // The flag the load watches: a signal here or anywhere, or --stop-when.
  const std::atomic<bool>& stop() const { return stop_; }
  // Why it stopped: "", "signal", or the condition ("failed>1%").
  std::string stop_reason() const;
  void Update(const LiveTotals& local);
  // This rank's load has ended with `final_totals`; returns when every rank
  // has ended (the last reduction), with the job's totals.
  LiveTotals Finish(const LiveTotals& final_totals);

 private:
  void Loop();

  Reduce reduce_;
  uint64_t period_ns_;
  std::optional<StopWhen> stop_when_;
  const std::atomic<bool>& signal_stop_;
  std::function<void(const LiveTotals&)> on_totals_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  LiveTotals local_;
  LiveTotals last_;
  bool done_ = false, all_done_ = false;
  std::string reason_;
  std::thread thread_;
};

}  // namespace tcpmax::dist

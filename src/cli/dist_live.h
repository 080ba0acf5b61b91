// The live side of a distributed `tcpmax load`: under a build with
// -DTCPMAX_MPI=ON started by an MPI launcher (mpirun, MPICH's hydra), the
// MPI session (dist/mpi/mpi_session.h), each rank's clock offset to rank 0,
// a barrier before the start and the 1 Hz coordinator (dist/live.h) whose
// job-wide line rank 0 prints and whose --stop-when stops every rank at
// once. Otherwise --stop-when is checked on this rank's own figures.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "cli/dist_flags.h"
#include "dist/live.h"
#include "load/stats.h"

namespace tcpmax::cli {

class DistLive {
 public:
  // Usage errors: a bad --stop-when, or an MPI world that disagrees with
  // the launcher's variables. Prints nothing.
  static Result<std::unique_ptr<DistLive>> Start(const DistRun& run, const std::string& stop_when,
                                                 const std::atomic<bool>& signal_stop);
  ~DistLive();

  // True when the ranks talk (MPI): rank 0 prints the job's line instead of
  // every rank printing its own.
  bool coordinated() const;
  std::optional<int64_t> clock_offset_ns() const { return clock_offset_; }
  // Barrier (coordinated), then sleep until `start` when given; nullopt when
  // a signal came first, else how late the start was (ns).
  std::optional<int64_t> WaitForStart(const std::optional<dist::WallTime>& start);
  // What the load watches instead of the signal flag.
  const std::atomic<bool>& stop() const;
  std::string stop_reason() const;
  void Update(const load::LoadStats& s);
  // This rank is done; returns the job's totals when coordinated.
  std::optional<dist::LiveTotals> Finish(const load::LoadStats& s);

 private:
  struct Impl;
  explicit DistLive(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::optional<int64_t> clock_offset_;
};

// "job: opened 80,000/100,000  held 80,000  failed 0  (4 ranks, 1 done)"
std::string JobLine(const dist::LiveTotals& t);

}  // namespace tcpmax::cli

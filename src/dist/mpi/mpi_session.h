// The optional MPI transport of a distributed run (built with
// -DTCPMAX_MPI=ON, Debian's libopenmpi-dev; the default build has none of
// this). Used only when the process was started by an MPI launcher.
//
// MPI_Init_thread asks for MPI_THREAD_MULTIPLE: the coordinator thread
// (live.h) makes the 1 Hz reductions while the command's thread made the
// start-up calls; MPI calls never overlap in practice, but no promise is
// needed. Finalize runs in the destructor.
// Thread-safety: see above; one session per process.
#pragma once

#include <cstdint>
#include <memory>

#include "core/error.h"
#include "dist/live.h"

namespace tcpmax::dist {

class MpiSession {
 public:
  // Whether this binary was built with MPI.
  static constexpr bool kBuilt = true;
  static Result<std::unique_ptr<MpiSession>> Init();
  ~MpiSession();

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Collective. This rank's wall clock minus rank 0's, in ns (rank 0: 0),
  // measured by a round trip each: offset = t0 - (t1 + t2) / 2 for the
  // local send time t1, rank 0's time t0 and the local receive time t2.
  int64_t ClockOffsetToRank0();
  // Collective: returns when every rank has called it.
  void Barrier();
  // Collective: the sum over the ranks.
  LiveTotals AllreduceSum(const LiveTotals& local);

 private:
  MpiSession(int rank, int size) : rank_(rank), size_(size) {}
  int rank_ = 0, size_ = 1;
};

}  // namespace tcpmax::dist

#include "dist/mpi/mpi_session.h"

#include <mpi.h>
#include <time.h>

namespace tcpmax::dist {
namespace {

int64_t WallNanos() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int kTagClock = 4242;

}  // namespace

Result<std::unique_ptr<MpiSession>> MpiSession::Init() {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    return PlainError("MPI_Init_thread failed");
  }
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    return PlainError("MPI offers no thread support beyond FUNNELED; tcpmax needs SERIALIZED");
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<MpiSession>(new MpiSession(rank, size));
}

MpiSession::~MpiSession() { MPI_Finalize(); }

int64_t MpiSession::ClockOffsetToRank0() {
  int64_t offset = 0;
  if (rank_ == 0) {
    for (int r = 1; r < size_; ++r) {
      int64_t ping = 0;
      MPI_Recv(&ping, 1, MPI_INT64_T, r, kTagClock, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      int64_t t0 = WallNanos();
      MPI_Send(&t0, 1, MPI_INT64_T, r, kTagClock, MPI_COMM_WORLD);
    }
  } else {
    int64_t t1 = WallNanos(), t0 = 0;
    MPI_Send(&t1, 1, MPI_INT64_T, 0, kTagClock, MPI_COMM_WORLD);
    MPI_Recv(&t0, 1, MPI_INT64_T, 0, kTagClock, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    int64_t t2 = WallNanos();
    offset = t1 / 2 + t2 / 2 - t0;  // local minus rank 0's
  }
  return offset;
}

void MpiSession::Barrier() { MPI_Barrier(MPI_COMM_WORLD); }

LiveTotals MpiSession::AllreduceSum(const LiveTotals& local) {
  uint64_t in[LiveTotals::kFields], out[LiveTotals::kFields];
  local.ToArray(in);
  MPI_Allreduce(in, out, LiveTotals::kFields, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return LiveTotals::FromArray(out);
}

}  // namespace tcpmax::dist

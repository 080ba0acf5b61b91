// Launcher detection: which rank of how many this process is, read from the
// environment that the launcher set, or from --rank/--size.
//
// Precedence: --rank/--size (by hand) over Open MPI (OMPI_COMM_WORLD_RANK /
// OMPI_COMM_WORLD_SIZE), MPICH and hydra (PMI_RANK / PMI_SIZE), Slurm
// (SLURM_PROCID / SLURM_NTASKS), Kubernetes Indexed Jobs
// (JOB_COMPLETION_INDEX, with the size from --size or TCPMAX_SIZE, since
// Kubernetes does not export the completion count). Nothing found and no
// flags: a single rank (0 of 1, launcher "none").
// Thread-safety: pure functions of their arguments.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace tcpmax::dist {

// A lookup of one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

struct RankInfo {
  int rank = 0;
  int size = 1;
  std::string launcher = "none";  // "flags", "openmpi", "pmi", "slurm", "kubernetes", "none"
  // The launcher's id for this job when it has one ("slurm-1234.0"), so all
  // ranks agree on a run id without being told; "" otherwise.
  std::string job_id;
  // Ranks on this machine and this one's index among them (Open MPI's
  // OMPI_COMM_WORLD_LOCAL_*, hydra's MPI_LOCALRANKID/MPI_LOCALNRANKS,
  // Slurm's SLURM_LOCALID with SLURM_STEP_TASKS_PER_NODE); 0 of 1 when the
  // launcher does not say (flags, Kubernetes: one pod per machine).
  int local_rank = 0;
  int local_size = 1;
  bool distributed() const { return size > 1 || launcher != "none"; }
};

inline constexpr int kMaxRanks = 1 << 20;

// `rank_flag`/`size_flag`: --rank and --size when given. Errors (one line,
// naming the flag or variable): --rank without --size (when no launcher
// gives the size), a rank not below the size, a size of 0 or above
// kMaxRanks, a variable that is not a number.
Result<RankInfo> DetectRank(const EnvLookup& env, std::optional<int> rank_flag, std::optional<int> size_flag);

}  // namespace tcpmax::dist

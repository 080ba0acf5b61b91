// The distributed-run flags of `tcpmax load` (--rank, --size, --start-at,
// --results, --run-id, --netns), defined once: how a rank finds its share
// before the load, waits for the common start, and writes its result file
// after it. The load command calls PrepareDist after its own validation and
// FinishDist after the run; everything else stays in load_cmd.cc.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "core/fd.h"
#include "dist/launcher.h"
#include "dist/partition.h"
#include "dist/start_time.h"
#include "load/runner.h"

namespace tcpmax::cli {

struct DistFlags {
  std::optional<int> rank, size;
  std::string start_at, results, run_id, netns, stop_when;
};

void AddDistFlags(CLI::App& app, DistFlags& f);

struct DistRun {
  dist::RankInfo rank;
  dist::Share share;
  std::optional<dist::WallTime> start;
  std::string run_id;       // "" without --results
  std::string results_dir;  // "" without --results
  Fd results_fd;
  std::optional<int64_t> clock_offset_ns;  // to rank 0's clock, when MPI measured it
};

// Checks --netns (the namespace must exist), to be called before sources are
// resolved (they are looked up inside it). Usage errors.
Result<void> CheckNetns(const DistFlags& f);

// Detects the rank, partitions `opts` (connections, targets, source window)
// and parses --start-at and --results. `sources_shared`: the source list is
// the same on every rank (see dist/partition.h). Every error is a usage
// error: nothing has been done yet.
Result<DistRun> PrepareDist(const DistFlags& f, load::LoadOptions& opts, bool sources_shared);

// Writes the rank's result file; returns its path. `start_unix`: when it began
// opening (wall clock); `late_ns`: how late after --start-at.
Result<std::string> FinishDist(const DistRun& d, const load::LoadOptions& opts, const load::LoadStats& s,
                               double start_unix, int64_t late_ns, bool interrupted);

}  // namespace tcpmax::cli

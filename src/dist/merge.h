// `tcpmax merge`: combines the result files of the ranks of one run exactly.
//
// Counts and errors are summed; histograms are merged bucket by bucket, so
// the merged p99 is computed from every sample (it can never exceed max, as
// it can when rounded per-rank figures are averaged). Files of different runs
// (run id), disagreeing sizes or a rank given twice are refused; missing
// ranks are named. Skew and stragglers: the spread of the ranks' start
// times, and ranks whose ramp ended well after the others' (or never did).
// Thread-safety: pure.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "dist/rank_result.h"

namespace tcpmax::dist {

struct Straggler {
  int rank = 0;
  std::string why;  // "ramp 3.10 s, median 1.02 s"
};

struct MergedRun {
  std::string run_id;
  int size = 0;
  std::vector<RankResult> ranks;  // by rank
  std::vector<int> missing;       // ranks below size with no file
  RankTotals totals;
  double start_skew_seconds = 0;  // latest minus earliest start
  double ramp_min = 0, ramp_median = 0, ramp_max = 0;
  std::vector<Straggler> stragglers;
};

// A ramp is a straggler's when it is 1.5x the median and 100 ms more;
// a start is when it came 100 ms or more after the earliest.
inline constexpr double kStragglerFactor = 1.5;
inline constexpr double kStragglerSlackSeconds = 0.1;

// REQUIRES: results non-empty. Errors: a run id or size mismatch (naming
// both), a rank given twice.
Result<MergedRun> MergeRanks(std::vector<RankResult> results);

}  // namespace tcpmax::dist

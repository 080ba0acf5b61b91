#include "dist/merge.h"

#include <algorithm>

#include <fmt/format.h>

namespace tcpmax::dist {
namespace {

void FindStragglers(MergedRun& m) {
  std::vector<double> ramps;
  double earliest = m.ranks.front().start_unix, latest = earliest;
  for (const RankResult& r : m.ranks) {
    if (r.ramp_seconds > 0) ramps.push_back(r.ramp_seconds);
    earliest = std::min(earliest, r.start_unix);
    latest = std::max(latest, r.start_unix);
  }
  m.start_skew_seconds = latest - earliest;
  std::sort(ramps.begin(), ramps.end());
  if (!ramps.empty()) {
    m.ramp_min = ramps.front();
    m.ramp_max = ramps.back();
    m.ramp_median = ramps[ramps.size() / 2];
  }
  for (const RankResult& r : m.ranks) {
    std::vector<std::string> why;
    if (r.ramp_seconds == 0 && r.totals.target > 0) {
      why.push_back(fmt::format("ramp never completed ({} of {} answered)", r.totals.opened + r.totals.failed,
                                r.totals.target));
    } else if (r.ramp_seconds > m.ramp_median * kStragglerFactor &&
               r.ramp_seconds > m.ramp_median + kStragglerSlackSeconds) {
      why.push_back(fmt::format("ramp {:.2f} s, median {:.2f} s", r.ramp_seconds, m.ramp_median));
    }
    if (r.start_unix - earliest >= kStragglerSlackSeconds) {
      why.push_back(fmt::format("started {:.3f} s after the first rank", r.start_unix - earliest));
    }
    if (!why.empty()) m.stragglers.push_back({r.rank, fmt::format("{}", fmt::join(why, "; "))});
  }
}

}  // namespace

Result<MergedRun> MergeRanks(std::vector<RankResult> results) {
  if (results.empty()) return PlainError("nothing to merge");
  std::sort(results.begin(), results.end(), [](const RankResult& a, const RankResult& b) { return a.rank < b.rank; });
  MergedRun m;
  m.run_id = results.front().run_id;
  m.size = results.front().size;
  for (size_t i = 0; i < results.size(); ++i) {
    const RankResult& r = results[i];
    if (r.run_id != m.run_id) {
      return PlainError(fmt::format("run id mismatch: rank {} is from run '{}', rank {} from run '{}'",
                                    results.front().rank, m.run_id, r.rank, r.run_id));
    }
    if (r.size != m.size) {
      return PlainError(fmt::format("size mismatch in run '{}': rank {} says {} ranks, rank {} says {}", m.run_id,
                                    results.front().rank, m.size, r.rank, r.size));
    }
    if (i > 0 && results[i - 1].rank == r.rank) return PlainError(fmt::format("rank {} given twice", r.rank));
    m.totals.Add(r.totals);
  }
  size_t next = 0;
  for (int rank = 0; rank < m.size; ++rank) {
    if (next < results.size() && results[next].rank == rank) {
      ++next;
    } else {
      m.missing.push_back(rank);
    }
  }
  m.ranks = std::move(results);
  FindStragglers(m);
  return m;
}

}  // namespace tcpmax::dist

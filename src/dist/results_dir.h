// Where rank result files live: `--results DIR` (shared by every rank of a
// run, e.g. on NFS or gathered afterwards) and the files `tcpmax merge` reads.
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "core/error.h"
#include "core/fd.h"
#include "dist/rank_result.h"

namespace tcpmax::dist {

// Opens DIR (creating it when missing) and checks that this rank's file does
// not exist yet, so a finished run is never overwritten. Called before the
// load starts: a bad --results fails first, with nothing done.
Result<Fd> PrepareResults(const std::string& dir, const std::string& run_id, int rank);

// Writes DIR/<run id>-rank<N>.json (new file only); returns its path.
Result<std::string> WriteRankFile(int dirfd, const std::string& dir, const RankResult& r);

// Reads and checks one rank file (at most 64 MiB).
Result<RankResult> ReadRankFile(const std::string& path);

}  // namespace tcpmax::dist

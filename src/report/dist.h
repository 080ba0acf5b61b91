// Renderers of distributed runs: the slice line each rank prints before it
// starts, and `tcpmax merge` as text, JSON (schema tcpmax.merge/1, defined
// here) and a self-contained HTML page. Pure; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dist/launcher.h"
#include "dist/merge.h"
#include "dist/partition.h"

namespace tcpmax::report {

// "rank 2 of 4 (openmpi): connections 50,000..74,999 (25,000 of 100,000), ..."
std::string RankSliceText(const dist::RankInfo& rank, const dist::Share& share);

std::string MergeText(const dist::MergedRun& m);
nlohmann::json MergeJson(const dist::MergedRun& m);
std::string MergeHtml(const dist::MergedRun& m);

}  // namespace tcpmax::report

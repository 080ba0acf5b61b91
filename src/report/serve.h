// Renderers of `tcpmax serve`: the ready and progress JSON lines
// (--progress-json), the progress line, and the summary as text and JSON
// (--json, schema tcpmax.serve/2). Pure; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "serve/run.h"

namespace tcpmax::report {

// What the summary needs besides the outcome.
struct ServeRunInfo {
  serve::ServeOptions options;
  std::string engine_note;
  std::string stop_reason;  // "SIGINT", "SIGTERM", "duration"
};

std::string ServeReadyText(const serve::ServeOutcome& o, const ServeRunInfo& info);
nlohmann::json ServeReadyJson(const std::vector<Endpoint>& endpoints, const ServeRunInfo& info, int pid);
std::string ServeProgressLine(const serve::ServeProgress& p);
nlohmann::json ServeProgressJson(const serve::ServeProgress& p);
nlohmann::json ServeSummaryJson(const serve::ServeOutcome& o, const ServeRunInfo& info);
std::string ServeSummaryText(const serve::ServeOutcome& o, const ServeRunInfo& info);

}  // namespace tcpmax::report

// Renderers of `tcpmax load`: the progress line, the progress JSON line
// (--progress-json), the summary as text and as JSON (--json, schema
// tcpmax.load/3, docs/load-json.md). Pure; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "load/runner.h"
#include "load/stats.h"
#include "probe/server_view.h"

namespace tcpmax::report {

std::string LoadProgressLine(const load::LoadStats& s, double rate);
nlohmann::json LoadProgressJson(const load::LoadStats& s, double rate, bool done);
// `interrupted`: the run was stopped by a signal before its end.
std::string LoadSummaryText(const load::LoadStats& s, const load::LoadRun& run, bool interrupted);
nlohmann::json LoadSummaryJson(const load::LoadStats& s, const load::LoadRun& run, bool interrupted);
// The header printed before a run: targets, sources, engine, processes.
std::string LoadPlanText(const load::LoadRun& run);

// The server's side of what the client holds (load --server-pid), counted
// while the connections were held: text lines and the "server" object.
std::string LoadServerText(const probe::ServerView& v, uint64_t client_held);
nlohmann::json LoadServerJson(const probe::ServerView& v, uint64_t client_held);

}  // namespace tcpmax::report

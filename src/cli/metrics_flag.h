// --metrics ADDR:PORT, shared by serve, load, probe and count --watch: the
// flag's one definition and the start of the listener (metrics/server.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "metrics/server.h"

namespace tcpmax::cli {

void AddMetricsFlag(CLI::App& app, std::string& addr);

// The listener for a validated --metrics, or nullptr when it was not given.
// Prints "tcpmax <command>: metrics on http://ADDR:PORT/metrics" on stderr.
// A malformed address is a usage error (ParseMetricsFlag first); a bind
// failure is a runtime error.
Result<Endpoint> ParseMetricsFlag(const std::string& addr);
Result<std::unique_ptr<metrics::MetricsServer>> StartMetrics(std::string_view command, const std::string& addr);

}  // namespace tcpmax::cli

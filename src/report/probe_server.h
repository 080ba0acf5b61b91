// Renderers of probe::ServerReport (`tcpmax probe --server`): text, JSON
// (schema tcpmax.probe-server/1, docs/probe-server.md) and HTML.
// Pure; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "probe/server_report.h"

namespace tcpmax::report {

inline constexpr std::string_view kProbeServerSchema = "tcpmax.probe-server/1";

std::string ServerProbeToText(const probe::ServerReport& r);
nlohmann::json ServerProbeToJson(const probe::ServerReport& r);
std::string ServerProbeToHtml(const probe::ServerReport& r);

}  // namespace tcpmax::report

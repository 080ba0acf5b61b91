// Renderers of `tcpmax limits`: a Ceiling (limits/ceiling.h) as the text
// table, the --explain narrative and the --json document. They build strings
// and JSON values; printing is the caller's job (src/cli).
//
// JSON schema "tcpmax.limits/2", documented in docs/limits-json.md: readings
// are numbers (units in the key names), never formatted text. Within version
// 2 fields are only ever added, never renamed or removed.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "limits/ceiling.h"

namespace tcpmax::report {

inline constexpr const char* kLimitsSchema = "tcpmax.limits/2";

std::string LimitsText(const limits::Ceiling& c);
std::string LimitsExplain(const limits::Ceiling& c);
nlohmann::json LimitsJson(const limits::Ceiling& c);

}  // namespace tcpmax::report

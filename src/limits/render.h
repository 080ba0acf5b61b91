// Renderers of a Ceiling: the text table, the --explain narrative and the
// --json document. They build strings and JSON values; printing is the
// caller's job (src/cli).
//
// JSON schema "tcpmax.limits/1" (stable; documented in docs/limits-json.md):
// fields are only ever added, never renamed or removed, within version 1.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "limits/ceiling.h"

namespace tcpmax::limits {

inline constexpr const char* kJsonSchema = "tcpmax.limits/1";

std::string RenderText(const Ceiling& c);
std::string RenderExplain(const Ceiling& c);
nlohmann::json ToJson(const Ceiling& c);

}  // namespace tcpmax::limits

// Renderers of `tcpmax userland serve|load`: a userland::ServeReport or
// LoadReport (userland/serve.h, userland/load.h) as the text summary, the
// --json document and the one-line progress status. They build strings and
// JSON values; printing is the caller's job (src/cli).
// JSON keys: counters as numbers, bytes in *_bytes, durations in *_seconds.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "userland/load.h"
#include "userland/serve.h"

namespace tcpmax::report {

std::string UserlandServeText(const userland::ServeReport& r);
nlohmann::json UserlandServeJson(const userland::ServeReport& r);
// "userland serve: 1,000 established, 1,000 accepted, 1,000 SYN, 2.1k/s packets in, 0 dropped"
std::string UserlandServeProgress(const userland::ServeReport& r);

std::string UserlandLoadText(const userland::LoadReport& r);
nlohmann::json UserlandLoadJson(const userland::LoadReport& r);
// "userland load [handshakes]: 500 / 1,000 established, 1,000 SYN + 0 resent, 0 answered 0 reset"
std::string UserlandLoadProgress(const userland::LoadReport& r);

}  // namespace tcpmax::report

// The probe report as JSON: the stable schema documented in docs/probe.md
// ("schema": "tcpmax.probe/1"). Pure; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "probe/report.h"

namespace tcpmax::report {

nlohmann::json ProbeToJson(const probe::ProbeReport& rep);

}  // namespace tcpmax::report

// The probe report as one self-contained HTML page: inline CSS and SVG charts
// (connections over time; memory against connections with the fitted
// bytes-per-connection line; predicted vs measured ceiling per limit). No
// script and no network access is needed to view it. Pure; thread-safe.
#pragma once

#include <string>

#include "probe/report.h"

namespace tcpmax::report {

std::string ProbeToHtml(const probe::ProbeReport& rep);

}  // namespace tcpmax::report

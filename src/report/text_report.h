// The probe report as text for a terminal: predicted vs measured, the
// binding limit and remedy, bytes per connection. Pure; thread-safe.
#pragma once

#include <string>

#include "probe/report.h"

namespace tcpmax::report {

std::string ProbeToText(const probe::ProbeReport& rep);

}  // namespace tcpmax::report

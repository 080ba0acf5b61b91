// What each long-running command exposes on --metrics: one function per
// command turning its progress figures into exposition text. Names are
// tcpmax_<command>_<what>; docs/metrics.md lists them.
// Thread-safety: pure.
#pragma once

#include <string>

#include "diag/query.h"
#include "load/stats.h"
#include "metrics/exposition.h"
#include "probe/report.h"
#include "serve/run.h"

namespace tcpmax::metrics {

// `rate`: opened/s over the last interval. `labels`: e.g. {"rank", "2"}.
std::string LoadMetrics(const load::LoadStats& s, double rate, const Labels& labels = {});
std::string ServeMetrics(const serve::ServeProgress& p);
std::string CountMetrics(const diag::Counts& c);
std::string ProbeMetrics(const probe::Sample& s);

}  // namespace tcpmax::metrics

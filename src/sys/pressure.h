// Pressure stall information (PSI, /proc/pressure/<resource>): the share of
// the last 10 s in which at least one task ("some") or every task ("full")
// waited for the resource. A box whose memory "some" pressure stays high is
// thrashing in reclaim: it stalls whoever allocates, the probe's supervisor
// and shards included, whatever MemAvailable says.
// Thread-safety: reentrant.
#pragma once

#include <string_view>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct Pressure {
  double some_avg10 = 0;  // percent
  double full_avg10 = 0;  // percent ("full" is absent for cpu on older kernels: 0)
};

// Parses "some avg10=1.23 avg60=... total=...\nfull avg10=..." .
Result<Pressure> ParsePressure(std::string_view text);
// `resource` is "memory", "cpu" or "io". ENOENT on kernels without PSI.
Result<Pressure> ReadPressure(const Reader& reader, std::string_view resource);

}  // namespace tcpmax::sys

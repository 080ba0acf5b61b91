#include "report/format.h"

#include "core/units.h"

namespace tcpmax::report {

std::string CountOrUnknown(std::optional<uint64_t> v) { return v ? FormatCount(*v) : "unknown"; }

}  // namespace tcpmax::report

// The rows of the model: one function per limit, each turning readings
// into a Finding (observed, allows, arithmetic, note). Remedies are added
// later by remedies.h, once the ceilings they aim at are known.
// Internal to src/limits (ceiling.cc is the caller). Pure functions.
#pragma once

#include <vector>

#include "limits/ceiling.h"

namespace tcpmax::limits {

// Facts derived once from the snapshot and scenario, shared by the rows.
struct Context {
  const Snapshot& s;
  const Scenario& sc;
  uint64_t ends = 1;                 // connection ends on this box
  uint64_t bytes_per_connection = 0; // kernel x ends + app + queued
  uint64_t ephemeral_ports = 0;      // 0: unknown
  uint64_t reserved_in_range = 0;
  uint64_t loopback_sources = 0;
  uint64_t other_sources = 0;
};

std::vector<Finding> ProcessFindings(const Context& c, uint64_t overhead_fds);
std::vector<Finding> BoxFindings(const Context& c);
std::vector<Finding> ThreadFindings(const Context& c);
Finding InboundTupleFinding(const Context& c);
std::vector<Finding> OutboundTupleFindings(const Context& c);
std::vector<Finding> InformationalFindings(const Context& c);

// "28,232" or "unknown"
std::string CountOrUnknown(std::optional<uint64_t> v);

}  // namespace tcpmax::limits

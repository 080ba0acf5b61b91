// The deterministic share of one rank in a distributed `tcpmax load`.
//
// Every rank computes the same partition from the same flags, so no
// coordinator is needed:
//  - connections: N / size each, the first N % size ranks one more;
//  - (source, target) pairs: no two ranks share one. With a shared source
//    list (the same addresses on every rank: an explicit --source, or the
//    loopback default on one box), the ranks form a grid of
//    a = min(source addresses, size) source groups by b = ceil(size / a)
//    target groups; rank r takes source group r % a (a contiguous slice of
//    the addresses) and target group r / a (a contiguous slice of the
//    targets). Every source address and every target lands in some rank.
//    A run needs b <= targets; fewer pairs than ranks is an error.
//    Sources that are each machine's own (the addresses of its interface)
//    are not shared between machines; the ranks ON one machine (local rank
//    of local size, from the launcher) split them with the same grid.
// Thread-safety: pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"
#include "load/source_plan.h"

namespace tcpmax::dist {

struct Share {
  int rank = 0;
  int size = 1;
  uint64_t connections = 0;       // this rank's attempts
  uint64_t first_connection = 0;  // the run-wide index of its first one
  uint64_t total_connections = 0;
  std::vector<Endpoint> targets;  // this rank's targets
  load::SourceWindow sources;     // this rank's slice of the usable source addresses
  uint64_t source_total = 0;      // usable addresses in the whole list
  bool sources_shared = true;
  int source_group = 0, source_groups = 1;
  int target_group = 0, target_groups = 1;
};

// REQUIRES: 0 <= rank < size; 0 <= local_rank < local_size; targets and
// sources non-empty.
Result<Share> PartitionLoad(uint64_t connections, const std::vector<Endpoint>& targets,
                            const std::vector<Cidr>& sources, bool sources_shared, int rank, int size,
                            int local_rank = 0, int local_size = 1);

}  // namespace tcpmax::dist

#include "dist/partition.h"

#include <algorithm>

namespace tcpmax::dist {
namespace {

// [part * total / parts, (part + 1) * total / parts): contiguous, even, and
// covering [0, total) exactly once over part = 0..parts-1.
uint64_t SliceStart(uint64_t total, uint64_t parts, uint64_t part) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(total) * part / parts);
}

}  // namespace

Result<Share> PartitionLoad(uint64_t connections, const std::vector<Endpoint>& targets,
                            const std::vector<Cidr>& sources, bool sources_shared, int rank, int size,
                            int local_rank, int local_size) {
  if (size < 1 || rank < 0 || rank >= size) {
    return PlainError("rank " + std::to_string(rank) + " is not below size " + std::to_string(size));
  }
  if (targets.empty() || sources.empty()) return PlainError("a partition needs targets and sources");
  Share s;
  s.rank = rank;
  s.size = size;
  s.total_connections = connections;
  uint64_t n = static_cast<uint64_t>(size), r = static_cast<uint64_t>(rank);
  s.connections = connections / n + (r < connections % n ? 1 : 0);
  s.first_connection = r * (connections / n) + std::min(r, connections % n);
  s.source_total = load::SourcePlan::UsableCount(sources);
  s.sources_shared = sources_shared;
  // The grid runs over every rank when the list is shared, else over the
  // ranks of this machine.
  if (!sources_shared) {
    if (local_size < 1 || local_rank < 0 || local_rank >= local_size) {
      return PlainError("local rank " + std::to_string(local_rank) + " is not below " + std::to_string(local_size));
    }
    n = static_cast<uint64_t>(local_size);
    r = static_cast<uint64_t>(local_rank);
  }
  uint64_t a = std::min<uint64_t>(s.source_total, n);
  uint64_t b = (n + a - 1) / a;
  if (b > targets.size()) {
    return PlainError(std::to_string(n) + (sources_shared ? " ranks" : " ranks on this machine") + " need " +
                      std::to_string(n) + " distinct (source, target) pairs; " + std::to_string(s.source_total) +
                      " source addresses x " + std::to_string(targets.size()) +
                      " targets give fewer (add --source addresses or targets)");
  }
  uint64_t g = r % a, h = r / a;
  s.source_groups = static_cast<int>(a);
  s.source_group = static_cast<int>(g);
  s.target_groups = static_cast<int>(b);
  s.target_group = static_cast<int>(h);
  s.sources.first = SliceStart(s.source_total, a, g);
  s.sources.count = SliceStart(s.source_total, a, g + 1) - s.sources.first;
  uint64_t t0 = SliceStart(targets.size(), b, h), t1 = SliceStart(targets.size(), b, h + 1);
  s.targets.assign(targets.begin() + static_cast<std::ptrdiff_t>(t0), targets.begin() + static_cast<std::ptrdiff_t>(t1));
  return s;
}

}  // namespace tcpmax::dist

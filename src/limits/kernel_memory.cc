#include "limits/kernel_memory.h"

#include <string_view>

namespace tcpmax::limits {
namespace {

uint64_t Fallback(std::string_view cache) {
  for (const FallbackSize& f : kFallbackSlabSizes) {
    if (cache == f.cache) return f.bytes;
  }
  return 0;
}

}  // namespace

ConnectionMemory KernelBytesPerEnd(const Snapshot& snapshot, bool ipv6, bool epoll) {
  ConnectionMemory m;
  std::vector<std::string> caches = {ipv6 ? "TCPv6" : "TCP", "sock_inode_cache", "filp", "dentry"};
  if (epoll) caches.push_back("eventpoll_epi");
  size_t from_slab = 0;
  for (const std::string& cache : caches) {
    SlabItem item{cache, Fallback(cache), 0, false};
    if (snapshot.slabinfo) {
      auto it = snapshot.slabinfo->find(cache);
      if (it != snapshot.slabinfo->end() && it->second.objsize > 0) {
        item.bytes = uint64_t(it->second.footprint() + 0.999);
        item.objsize = it->second.objsize;
        item.from_slabinfo = true;
        ++from_slab;
      }
    }
    m.per_end += item.bytes;
    m.items.push_back(item);
  }
  // The security modules' blobs of the inode and the file, where an LSM
  // keeps them in caches of their own (no fallback: without an LSM there
  // are none).
  if (snapshot.slabinfo) {
    for (std::string_view cache : {"lsm_inode_cache", "lsm_file_cache"}) {
      auto it = snapshot.slabinfo->find(cache);
      if (it == snapshot.slabinfo->end() || it->second.objsize == 0) continue;
      SlabItem item{std::string(cache), uint64_t(it->second.footprint() + 0.999), it->second.objsize, true};
      m.per_end += item.bytes;
      m.items.push_back(item);
    }
  }
  m.source = from_slab == caches.size() ? "slabinfo" : from_slab == 0 ? "fallback" : "slabinfo+fallback";
  if (snapshot.kernel_bytes_per_end) {
    m.per_end = *snapshot.kernel_bytes_per_end;
    m.source = "override";
  }
  return m;
}

}  // namespace tcpmax::limits

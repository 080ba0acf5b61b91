// Kernel memory of one idle TCP connection end, from this kernel's slab
// object sizes.
//
// An established, idle socket with no queued data holds, per end:
//   TCP (or TCPv6)     struct tcp_sock: the protocol state
//   sock_inode_cache   the socket's inode (struct socket_alloc)
//   filp               struct file: what the fd points at
//   dentry             the socket's (anonymous) dentry
//   eventpoll_epi      one epoll watch, when the program uses epoll
//   lsm_inode_cache,   the security modules' blobs of the inode and file,
//   lsm_file_cache     where slabinfo has those caches (an LSM is on)
// Sizes come from /proc/slabinfo, so they follow the running kernel: each
// object costs its slab's pages divided by the objects per slab (TCP: 8 pages
// hold 13 objects of 2,368 B, so 2,521 B each), which is what the Slab line of
// /proc/meminfo grows by. A cache missing from slabinfo (unreadable without
// root, or merged into another cache by SLUB) falls back to the constant
// below, read on Linux 6.18 x86_64; the result says which source each item
// used.
// Buffers are not counted: sk_buff memory is charged only while data waits
// (that is tcp_mem's job). The ehash table is allocated at boot, not per
// connection.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "limits/snapshot.h"

namespace tcpmax::limits {

struct SlabItem {
  std::string cache;       // "TCP"
  uint64_t bytes = 0;      // slab bytes per object (pages per slab x 4096 / objects per slab, rounded up)
  uint64_t objsize = 0;    // the object itself (slabinfo objsize), for reference
  bool from_slabinfo = false;
};

struct ConnectionMemory {
  std::vector<SlabItem> items;
  uint64_t per_end = 0;        // sum of items (or the --set conn.kernel_bytes override)
  std::string source;          // "slabinfo", "slabinfo+fallback", "fallback", "override"
};

// Fallback object sizes (bytes), used when slabinfo lacks the cache.
struct FallbackSize {
  const char* cache;
  uint64_t bytes;
};
inline constexpr FallbackSize kFallbackSlabSizes[] = {
    {"TCP", 2521}, {"TCPv6", 2521}, {"sock_inode_cache", 863},
    {"filp", 196}, {"dentry", 196}, {"eventpoll_epi", 128},
};

ConnectionMemory KernelBytesPerEnd(const Snapshot& snapshot, bool ipv6, bool epoll);

}  // namespace tcpmax::limits

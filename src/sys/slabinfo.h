// /proc/slabinfo: the kernel's object caches, their object sizes and counts.
//
// A TCP connection held open costs a fixed set of slab objects per end (the
// socket "TCP"/"TCPv6", its inode "sock_inode_cache", a "filp", a "dentry",
// an "eventpoll_epi" when watched by epoll). Their sizes differ by kernel
// version and config, so `limits` reads them here rather than guessing.
// Reading /proc/slabinfo needs root (mode 0400); callers fall back to
// documented constants when it fails.
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct SlabCache {
  uint64_t active_objs = 0;
  uint64_t num_objs = 0;
  uint64_t objsize = 0;       // bytes per object, as allocated
  uint64_t objperslab = 0;
  uint64_t pagesperslab = 0;

  // Bytes of slab pages per object, padding included (>= objsize).
  double footprint(uint64_t page_size = 4096) const {
    return objperslab == 0 ? double(objsize) : double(pagesperslab * page_size) / double(objperslab);
  }
};

using Slabinfo = std::map<std::string, SlabCache, std::less<>>;

// Parses "slabinfo - version: 2.1" text. Fails on any other version.
Result<Slabinfo> ParseSlabinfo(std::string_view text);
Result<Slabinfo> ReadSlabinfo(const Reader& reader);

// The caches whose objects a held TCP socket owns, per end: the socket, its
// inode, its file, their security blobs, an epoll watch. Dentries are left
// out: a process walking /proc/*/fd (one does on this project's machines)
// grows the dentry and proc inode caches by more than the sockets do.
inline constexpr std::string_view kSocketCaches[] = {
    "TCP",           "TCPv6",           "sock_inode_cache", "filp",          "eventpoll_epi",
    "eventpoll_pwq", "lsm_file_cache", "lsm_inode_cache",  "request_sock_TCP", "request_sock_TCPv6"};
// Bytes of the kSocketCaches objects in use (active objects x object size).
uint64_t SocketSlabBytes(const Slabinfo& slab);
// objsize of `cache`, 0 when absent.
uint64_t ObjectSize(const Slabinfo& slab, std::string_view cache);

}  // namespace tcpmax::sys

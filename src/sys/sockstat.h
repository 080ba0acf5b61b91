// /proc/net/sockstat: sockets in use in this network namespace, and the
// pages TCP buffers hold now (compared with net.ipv4.tcp_mem, in pages).
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct Sockstat {
  uint64_t sockets_used = 0;  // "sockets: used N" (all families)
  uint64_t tcp_inuse = 0;     // TCP sockets in use (not TIME_WAIT)
  uint64_t tcp_orphan = 0;    // closed by the application, still in the kernel
  uint64_t tcp_tw = 0;        // TIME_WAIT
  uint64_t tcp_alloc = 0;     // allocated TCP sockets
  uint64_t tcp_mem_pages = 0; // pages charged to tcp_mem now
};

Result<Sockstat> ParseSockstat(std::string_view text);
Result<Sockstat> ReadSockstat(const Reader& reader);

}  // namespace tcpmax::sys

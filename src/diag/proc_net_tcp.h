// The /proc fallback: /proc/net/tcp and /proc/net/tcp6 parsed into the same
// Tally as the netlink dump, so both sources give identical counts.
//
// Line format (net/ipv4/tcp_ipv4.c get_tcp4_sock, tcp_ipv6.c get_tcp6_sock):
//   "  12: 0100007F:1F90 0100007F:D431 01 ..." slot, local addr:port, remote
//   addr:port, state; an address is the in-memory __be32 words printed as
//   host-order hex (4 words for tcp6); ports are host-order hex.
// The files are read with the calling thread's namespace
// (/proc/thread-self/net), so a NetnsScope applies to them.
// Not thread-safe per Tally.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "diag/tally.h"

namespace tcpmax::diag {

// Parses complete lines of one file's text (the header line is skipped).
// Returns the number of socket lines seen, or an error naming the bad line.
Result<uint64_t> ParseProcNetTcp(std::string_view text, int family, Tally& tally);

// Reads and parses `path` (e.g. "/proc/thread-self/net/tcp6") in chunks.
Result<uint64_t> ReadProcNetTcp(const std::string& path, int family, Tally& tally);

}  // namespace tcpmax::diag

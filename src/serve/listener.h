// Listening sockets for `serve`: parse --listen, open one SO_REUSEPORT
// listener per (endpoint, worker), size the backlog to net.core.somaxconn.
//
// Every listener has SO_LINGER {1, 0}; accepted sockets inherit it, so
// closing a held connection sends RST and leaves no TIME_WAIT on either side
// (teardown of 100k connections stays instant).
//
// Pure functions and Fd-owning results; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::serve {

// "127.0.0.1:7000", "127.0.0.1:7000-7015", "[::1]:7000", comma-separated,
// in any mix. Port 0 asks the kernel for a free port. Errors name the item:
// "--listen '127.0.0.1:7005-7000': reversed port range".
Result<std::vector<Endpoint>> ParseListenSpec(std::string_view text);

// net.core.somaxconn, or 4096 when it cannot be read.
int Somaxconn();

// Makes sure nobody else listens on `ep` (a bind without SO_REUSEPORT would
// fail) and resolves port 0 to a free port. Error: "listen 127.0.0.1:7000:
// EADDRINUSE (Address already in use)".
Result<Endpoint> ReserveEndpoint(const Endpoint& ep);

// A non-blocking listener with SO_REUSEPORT and SO_LINGER {1,0}; IPv6
// listeners are IPV6_V6ONLY.
Result<Fd> OpenListener(const Endpoint& ep, int backlog);

}  // namespace tcpmax::serve

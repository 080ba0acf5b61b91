// The checks before the engine shares an interface with the kernel (the
// firewall recipe over a packet socket), each refusing with one reason:
//   - the interface exists (ENODEV) and is up (ENETDOWN);
//   - the kernel owns the engine's address on it (EADDRNOTAVAIL): peers
//     find it by ARP or IPv6 neighbour discovery, which the kernel answers
//     for the engine;
//   - no kernel socket listens on the engine's address and ports, or on the
//     wildcard (EADDRINUSE): the recipe's firewall would hijack a real server.
// Run in the namespace the engine will use. Reads only; changes nothing.
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"

namespace tcpmax::userland::link {

// ENODEV or ENETDOWN only: a client's interface (its source range need not be the kernel's).
Result<void> CheckInterfaceUp(const std::string& interface);

Result<void> CheckSharedInterface(const std::string& interface, const IpAddress& ip, const std::vector<uint16_t>& ports);

}  // namespace tcpmax::userland::link

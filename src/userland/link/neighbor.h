// The hardware address a packet socket must send to for a target: the
// target's own on its link, or its route's gateway. The kernel resolves it
// (ARP for IPv4, neighbour discovery for IPv6), prompted by one UDP datagram
// to the discard port sent through its stack, and tcpmax reads it back from
// the neighbour table (`ip neigh`).
// Runs in the calling thread's namespace.
// Thread-safety: reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/address.h"
#include "core/error.h"

namespace tcpmax::userland::link {

using MacAddress = std::array<uint8_t, 6>;

// Waits up to about two seconds for the kernel to resolve the next hop to
// `ip` on `interface`; EHOSTUNREACH when it does not.
Result<MacAddress> ResolveNextHop(const std::string& interface, const IpAddress& ip);

// "aa:bb:cc:dd:ee:ff" from `ip neigh show` output ("198.18.0.1 lladdr
// aa:bb:cc:dd:ee:ff REACHABLE"); nullopt without a usable lladdr. Pure.
std::optional<MacAddress> ParseNeighborLine(const std::string& text);

}  // namespace tcpmax::userland::link

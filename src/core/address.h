// IP addresses, endpoints (address:port), CIDR ranges and port ranges:
// parsing, printing, enumeration, and conversion to sockaddr.
//
// IPv4 is stored in the first 4 bytes of `bytes`. Pure values; thread-safe.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace tcpmax {

struct IpAddress {
  int family = AF_INET;                 // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};      // network order

  static IpAddress V4(uint32_t host_order);
  uint32_t v4() const;                  // host order; REQUIRES family == AF_INET
  bool is_v6() const { return family == AF_INET6; }
  bool IsLoopback() const;
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct Endpoint {
  IpAddress ip;
  uint16_t port = 0;

  // "127.0.0.1:7000" or "[::1]:7000"
  std::string ToString() const;
  // Fills `out`; returns the length to pass to bind()/connect().
  socklen_t ToSockaddr(sockaddr_storage* out) const;
  static Endpoint FromSockaddr(const sockaddr* sa);
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// An address range: base/prefix. A bare address is a /32 (or /128).
struct Cidr {
  IpAddress base;   // with host bits cleared
  int prefix = 32;

  // Number of addresses; saturates at 2^63 for very large IPv6 ranges.
  uint64_t Size() const;
  // The i-th address of the range. REQUIRES i < Size().
  IpAddress At(uint64_t i) const;
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;
  // The range of one address (/32 or /128).
  static Cidr Host(const IpAddress& ip) { return Cidr{ip, ip.is_v6() ? 128 : 32}; }
};

struct PortRange {
  uint16_t lo = 1;
  uint16_t hi = 65535;
  uint32_t Size() const { return uint32_t(hi) - lo + 1; }
  bool Contains(uint16_t p) const { return p >= lo && p <= hi; }
};

Result<IpAddress> ParseIp(std::string_view text);
// "127.0.0.1:7000", "[::1]:7000", "localhost:7000"; with `default_port`
// given (non-zero) a bare address is accepted too.
Result<Endpoint> ParseEndpoint(std::string_view text, uint16_t default_port = 0);
// A comma-separated list of endpoints.
Result<std::vector<Endpoint>> ParseEndpoints(std::string_view text, uint16_t default_port = 0);
// The one parser of "ADDR:PORTS[,...]" (--listen, load targets, userland):
// each item is ADDR:PORT or ADDR:LO-HI (expanded to every port; [::1]:LO-HI
// for IPv6). Port 0 ("any free port") only when `allow_port_zero`, and never
// in a range; no endpoint twice; at most 65,536 endpoints.
Result<std::vector<Endpoint>> ParseEndpointSpec(std::string_view text, bool allow_port_zero);
Result<Cidr> ParseCidr(std::string_view text);
// A comma-separated list of CIDRs.
Result<std::vector<Cidr>> ParseCidrs(std::string_view text);
// "1-65535", "80", "7000-7009,8080"; rejects reversed and out-of-range ranges.
Result<std::vector<PortRange>> ParsePortRanges(std::string_view text);

}  // namespace tcpmax

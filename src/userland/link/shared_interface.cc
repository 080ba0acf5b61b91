#include "userland/link/shared_interface.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include "core/address.h"
#include "diag/count.h"

namespace tcpmax::userland::link {
namespace {

// ENODEV, ENETDOWN or EADDRNOTAVAIL, as the header says.
Result<void> CheckAddress(const std::string& interface, const IpAddress& ip) {
  if (::if_nametoindex(interface.c_str()) == 0) return ErrnoError("--interface " + interface);
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return ErrnoError("getifaddrs");
  bool up = false, owned = false;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_name == nullptr || interface != a->ifa_name) continue;
    up = up || (a->ifa_flags & IFF_UP) != 0;
    if (a->ifa_addr != nullptr && (a->ifa_addr->sa_family == AF_INET || a->ifa_addr->sa_family == AF_INET6)) {
      owned = owned || Endpoint::FromSockaddr(a->ifa_addr).ip == ip;
    }
  }
  ::freeifaddrs(list);
  std::string addr = ip.ToString();
  if (!owned) {
    return ErrnoError(EADDRNOTAVAIL, fmt::format("--interface {}: {} is not an address of it (the kernel must own "
                                                 "the engine's address: ip addr add {}/{} dev {})",
                                                 interface, addr, addr, ip.is_v6() ? 64 : 24, interface));
  }
  if (!up) return ErrnoError(ENETDOWN, fmt::format("--interface {}: it is down (ip link set {} up)", interface, interface));
  return {};
}

}  // namespace

Result<void> CheckInterfaceUp(const std::string& interface) {
  if (::if_nametoindex(interface.c_str()) == 0) return ErrnoError("--interface " + interface);
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return ErrnoError("getifaddrs");
  bool up = false;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_name != nullptr && interface == a->ifa_name) up = up || (a->ifa_flags & IFF_UP) != 0;
  }
  ::freeifaddrs(list);
  if (!up) return ErrnoError(ENETDOWN, fmt::format("--interface {}: it is down (ip link set {} up)", interface, interface));
  return {};
}

Result<void> CheckSharedInterface(const std::string& interface, const IpAddress& ip, const std::vector<uint16_t>& ports) {
  if (auto a = CheckAddress(interface, ip); !a) return a;
  diag::Query q;
  q.states = diag::StateBit(diag::kListen);
  for (uint16_t p : ports) q.lports.push_back(PortRange{p, p});
  // Ours, the IPv4 wildcard (also as ::ffff:0.0.0.0) and the IPv6 wildcard.
  for (const char* c : {"0.0.0.0/32", "::/128"}) q.src.push_back(*ParseCidr(c));
  q.src.push_back(Cidr::Host(ip));
  q.by = diag::AggregateBy::kLocalPort;
  auto counts = diag::Count(q);
  if (!counts) return tl::unexpected(counts.error());
  if (counts->total > 0) {
    std::string port = counts->groups.empty() ? "?" : counts->groups.front().key.ToString(q.by);
    return ErrnoError(EADDRINUSE, fmt::format("--listen port {} on {}: a kernel socket listens there; the firewall "
                                              "recipe would take its connections away (stop it or choose another port)",
                                              port, ip.ToString()));
  }
  return {};
}

}  // namespace tcpmax::userland::link

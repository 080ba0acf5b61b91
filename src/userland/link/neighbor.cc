#include "userland/link/neighbor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <thread>
#include <vector>

#include "core/address.h"
#include "core/fd.h"
#include "sys/command.h"

namespace tcpmax::userland::link {
namespace {

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The gateway of the route to `ip` via `interface`, or `ip` itself when on-link.
Result<std::string> NextHop(const std::string& interface, const std::string& ip, bool v6) {
  auto out = sys::RunCommand({"ip", v6 ? "-6" : "-4", "route", "get", ip, "oif", interface});
  if (!out) return tl::unexpected(out.error());
  std::vector<std::string> w = Words(*out);
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == "via") return w[i + 1];
  }
  return ip;
}

// One datagram to the discard port: the kernel resolves the next hop for it.
void Prompt(const std::string& interface, const IpAddress& ip) {
  Fd s(::socket(ip.is_v6() ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return;
  ::setsockopt(s.get(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(), socklen_t(interface.size()));
  sockaddr_storage to{};
  socklen_t len = Endpoint{ip, 9}.ToSockaddr(&to);
  ::sendto(s.get(), "", 0, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), len);
}

}  // namespace

std::optional<MacAddress> ParseNeighborLine(const std::string& text) {
  std::vector<std::string> w = Words(text);
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] != "lladdr") continue;
    MacAddress mac{};
    unsigned v[6];
    char tail = 0;
    if (std::sscanf(w[i + 1].c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) {
      return std::nullopt;
    }
    for (int k = 0; k < 6; ++k) mac[k] = uint8_t(v[k]);
    if (text.find("FAILED") != std::string::npos || text.find("INCOMPLETE") != std::string::npos) return std::nullopt;
    return mac;
  }
  return std::nullopt;
}

Result<MacAddress> ResolveNextHop(const std::string& interface, const IpAddress& ip) {
  std::string target = ip.ToString();
  const char* family = ip.is_v6() ? "-6" : "-4";
  auto hop = NextHop(interface, target, ip.is_v6());
  if (!hop) return tl::unexpected(hop.error());
  for (int i = 0; i < 20; ++i) {
    if (i % 5 == 0) Prompt(interface, ip);
    auto shown = sys::RunCommand({"ip", family, "neigh", "show", *hop, "dev", interface});
    if (!shown) return tl::unexpected(shown.error());
    if (auto mac = ParseNeighborLine(*shown)) return *mac;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ErrnoError(EHOSTUNREACH, std::string(ip.is_v6() ? "no neighbour advertisement" : "no ARP answer") + " from " + *hop + " on " + interface + " (the next hop to " + target + ")");
}

}  // namespace tcpmax::userland::link

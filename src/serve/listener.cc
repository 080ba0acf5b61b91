#include "serve/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

namespace tcpmax::serve {
namespace {

Result<uint16_t> ParsePort(std::string_view item, std::string_view text) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v > 65535)
    return PlainError(fmt::format("--listen '{}': '{}' is not a port (0-65535)", item, text));
  return static_cast<uint16_t>(v);
}

// One item: ADDR:PORT or ADDR:LO-HI.
Result<void> ParseItem(std::string_view item, std::vector<Endpoint>* out) {
  size_t colon = item.rfind(':');
  if (colon == std::string_view::npos || (item.front() != '[' && item.find(':') != colon))
    return PlainError(fmt::format("--listen '{}': expected ADDR:PORT or ADDR:LO-HI ([::1]:PORT for IPv6)", item));
  std::string_view host = item.substr(0, colon);
  std::string_view ports = item.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto ip = ParseIp(host);
  if (!ip) return PlainError(fmt::format("--listen '{}': '{}' is not an IP address", item, host));
  size_t dash = ports.find('-');
  auto lo = ParsePort(item, ports.substr(0, dash));
  if (!lo) return tl::unexpected(lo.error());
  uint16_t hi = *lo;
  if (dash != std::string_view::npos) {
    auto h = ParsePort(item, ports.substr(dash + 1));
    if (!h) return tl::unexpected(h.error());
    hi = *h;
    if (hi < *lo) return PlainError(fmt::format("--listen '{}': reversed port range", item));
    if (*lo == 0) return PlainError(fmt::format("--listen '{}': port 0 cannot start a range", item));
  }
  for (uint32_t p = *lo; p <= hi; ++p) out->push_back(Endpoint{*ip, static_cast<uint16_t>(p)});
  return {};
}

Result<Fd> BoundSocket(const Endpoint& ep, bool reuseport) {
  Fd fd(socket(ep.ip.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError(fmt::format("socket for {}", ep.ToString()));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return ErrnoError(fmt::format("setsockopt SO_REUSEPORT on {}", ep.ToString()));
  if (ep.ip.is_v6()) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = ep.ToSockaddr(&ss);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return ErrnoError(fmt::format("listen {}", ep.ToString()));
  return fd;
}

}  // namespace

Result<std::vector<Endpoint>> ParseListenSpec(std::string_view text) {
  std::vector<Endpoint> out;
  if (text.empty()) return PlainError("--listen: empty (expected ADDR:PORT[,ADDR:PORT...])");
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (item.empty()) return PlainError(fmt::format("--listen '{}': empty item", text));
    if (auto r = ParseItem(item, &out); !r) return tl::unexpected(r.error());
    if (out.size() > 65536) return PlainError(fmt::format("--listen '{}': more than 65536 endpoints", text));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = i + 1; j < out.size() && out[i].port != 0; ++j)
      if (out[i] == out[j]) return PlainError(fmt::format("--listen '{}': {} appears twice", text, out[i].ToString()));
  return out;
}

int Somaxconn() {
  FILE* f = std::fopen("/proc/sys/net/core/somaxconn", "re");
  int v = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%d", &v) != 1) v = 0;
    std::fclose(f);
  }
  return v > 0 ? v : 4096;
}

Result<Endpoint> ReserveEndpoint(const Endpoint& ep) {
  // Without SO_REUSEPORT this bind fails if anyone listens there, even a
  // reuseport group of our own uid that would otherwise silently share it.
  auto probe = BoundSocket(ep, /*reuseport=*/false);
  if (!probe) return tl::unexpected(probe.error());
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(probe->get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return ErrnoError(fmt::format("getsockname for {}", ep.ToString()));
  return Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
}

Result<Fd> OpenListener(const Endpoint& ep, int backlog) {
  auto fd = BoundSocket(ep, /*reuseport=*/true);
  if (!fd) return fd;
  linger lg{1, 0};
  if (setsockopt(fd->get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
    return ErrnoError(fmt::format("setsockopt SO_LINGER on {}", ep.ToString()));
  if (listen(fd->get(), backlog) != 0) return ErrnoError(fmt::format("listen {}", ep.ToString()));
  return fd;
}

}  // namespace tcpmax::serve

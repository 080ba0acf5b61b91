#include "serve/listener.h"

#include "sys/reader.h"
#include "sys/sysctl.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

namespace tcpmax::serve {
namespace {

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
  return ParseEndpointSpec(text, /*allow_port_zero=*/true);
}

int Somaxconn() {
  auto v = sys::ReadSysctlU64(sys::LiveReader(), "net.core.somaxconn");
  return v && *v > 0 && *v < (1u << 30) ? static_cast<int>(*v) : 4096;
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

// Socket set-up shared by the connector engines.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "load/connector.h"

namespace tcpmax::load {

int OpenBoundSocket(int family, const IpAddress& source, bool nonblocking, uint16_t port) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -errno;
  linger lg{1, 0};  // close() sends RST: no TIME_WAIT left behind
  int one = 1;
  sockaddr_storage ss{};
  socklen_t len = Endpoint{source, port}.ToSockaddr(&ss);
  // A chosen port is shared with the connections of the same (source, port)
  // to other targets: SO_REUSEADDR. Else the port is left to connect().
  int opt = port != 0 ? SO_REUSEADDR : IP_BIND_ADDRESS_NO_PORT;
  int level = port != 0 ? SOL_SOCKET : IPPROTO_IP;
  if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0 ||
      ::setsockopt(fd, level, opt, &one, sizeof one) != 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

uint64_t PongRtt(const uint8_t* probe, uint64_t now_ns, uint64_t start_ns) {
  uint64_t magic, sent;
  std::memcpy(&magic, probe, 8);
  std::memcpy(&sent, probe + 8, 8);
  if (magic != kPingMagic || sent < start_ns || sent > now_ns) return 0;
  return now_ns - sent + (now_ns == sent);  // never 0 for a good pong
}

}  // namespace tcpmax::load

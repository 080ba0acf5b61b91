// SockView: one socket as a dump reports it, pointing into the dump buffer
// (no copy, no allocation). Valid only while that buffer is.
#pragma once

#include <sys/socket.h>

#include <cstdint>

namespace tcpmax::diag {

struct SockView {
  uint8_t family = AF_INET;       // AF_INET or AF_INET6
  uint8_t state = 0;              // TcpState
  uint16_t sport = 0;             // local port, host order
  uint16_t dport = 0;             // remote port, host order
  const uint8_t* saddr = nullptr; // 4 or 16 bytes, network order
  const uint8_t* daddr = nullptr;
};

}  // namespace tcpmax::diag

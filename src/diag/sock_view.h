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
  uint32_t rqueue = 0;            // LISTEN: connections waiting to be accepted; else bytes unread
  uint32_t wqueue = 0;            // LISTEN: the backlog; else bytes unsent
  uint64_t inode = 0;             // 0: no file yet (still in an accept queue) or /proc without one
};

// What a dump feeds each socket to (Tally counts; probe's server scan
// classifies by owner). One virtual call per socket.
class SockSink {
 public:
  virtual ~SockSink() = default;
  virtual void Add(const SockView& s) = 0;
};

}  // namespace tcpmax::diag

// TCP states as the kernel numbers them (include/net/tcp_states.h), their
// names as `ss` prints them, and state masks (bit 1 << state), which is what
// inet_diag's idiag_states expects.
// Pure values and functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace tcpmax::diag {

enum TcpState : uint8_t {
  kEstablished = 1,
  kSynSent = 2,
  kSynRecv = 3,
  kFinWait1 = 4,
  kFinWait2 = 5,
  kTimeWait = 6,
  kClose = 7,
  kCloseWait = 8,
  kLastAck = 9,
  kListen = 10,
  kClosing = 11,
  kNewSynRecv = 12,  // kernel-internal request socket; reported as kSynRecv
};

inline constexpr int kMaxTcpState = 12;
// Every state a socket table can hold (close included, for completeness).
inline constexpr uint32_t kAllStates = ((1u << (kMaxTcpState + 1)) - 1) & ~1u;
// What the classic netstat|awk script counts.
inline constexpr uint32_t kClassicStates = (1u << kEstablished) | (1u << kTimeWait);

constexpr uint32_t StateBit(int state) { return 1u << state; }

// "established", "time-wait", "listen", ...; "unknown" outside 1-12.
std::string_view TcpStateName(int state);

// Parses "established,time-wait" into a mask. Accepts the names above, ss's
// spellings ("listening", "syn-recv", "closed"), underscores for dashes, and
// the groups "all", "connected" (all but listen and close) and
// "synchronized" (connected minus syn-sent). Unknown names are an error
// naming the word and the accepted names.
Result<uint32_t> ParseStates(std::string_view text);

// The words ParseStates accepts in their canonical spelling: the groups, then
// every state a socket table shows ("established" ... "closing").
std::vector<std::string_view> StateWords();

// "all" or "established,time-wait".
std::string StatesToString(uint32_t mask);

}  // namespace tcpmax::diag

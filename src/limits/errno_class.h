// Errno classification: why a socket call failed, what that means for the
// connection ceiling, and what to change.
//
// Both sides use it: `load` classifies socket/bind/connect/send failures,
// `serve` classifies accept failures, `probe` names the binding limit from
// the class. A class has a stable key ("EADDRNOTAVAIL") that is used as the
// JSON key in every "errors" object; errnos with no class of their own are
// counted under their own errno name ("EPERM") and described generically.
//
// Grouping: ENOMEM counts as ENOBUFS (both are kernel memory); tcpmax's own
// connect timeout (--connect-timeout) counts as ETIMEDOUT (kTimeoutErrno).
//
// ErrorCounts is a fixed-size per-worker counter array (no allocation when
// counting); workers own one each and a reporter merges them.
// Thread-safety: the functions are pure; ErrorCounts has no internal locking.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tcpmax::limits {

enum class ErrnoClass : uint8_t {
  kEmfile,         // per-process fd limit
  kEnfile,         // system-wide file limit
  kEaddrnotavail,  // no free local port for this (source, destination) pair
  kEaddrinuse,     // bind() of an explicit source port collided
  kEconnrefused,   // RST to SYN: nothing listening, or backlog overflow abort
  kEtimedout,      // SYN (or data) unanswered: kernel retries or our timeout
  kEconnreset,     // peer reset an established connection
  kEpipe,          // write on a connection the peer closed
  kEnetunreach,    // no route to the target
  kEnobufs,        // kernel memory (ENOBUFS, ENOMEM)
  kOther,          // anything else; reported under its errno name
};
inline constexpr int kErrnoClassCount = 11;

// Pseudo errno recorded when tcpmax's own connect timeout fires.
inline constexpr int kTimeoutErrno = 4095;

struct ErrnoClassInfo {
  std::string_view key;      // "EADDRNOTAVAIL"; "" for kOther (use ErrorKey)
  std::string_view meaning;  // one sentence: what the kernel is telling us
  std::string_view remedy;   // one sentence: what to change
};

ErrnoClass ClassifyErrno(int code);
const ErrnoClassInfo& Describe(ErrnoClass c);
// The JSON/summary key for an errno: the class key, or for kOther the errno
// name ("EPERM"). kTimeoutErrno -> "ETIMEDOUT".
std::string_view ErrorKey(int code);
// Meaning and remedy for an errno (generic text for kOther).
std::string_view ErrorMeaning(int code);
std::string_view ErrorRemedy(int code);
// The inverse of ErrorKey for the classes and known errno names ("EPERM" ->
// EPERM); 0 when unknown. Used when aggregating JSON from child processes.
int ErrnoFromKey(std::string_view key);

// The finding id of `tcpmax limits` (limits/findings.cc) that an errno points
// at, so a measured binding limit and a predicted one share one name:
// EMFILE -> "rlimit_nofile_hard", ENFILE -> "fs.file-max", EADDRNOTAVAIL ->
// "net.ipv4.ip_local_port_range", ENOBUFS/ENOMEM -> "memory", ENOSPC (epoll
// watches) -> "fs.epoll.max_user_watches", ECONNREFUSED/ETIMEDOUT (accept or
// SYN queue overflow) -> "net.core.somaxconn"; "" for the rest.
std::string_view FindingIdFor(int code);

// Counts failures by errno. Record() is a single array increment.
class ErrorCounts {
 public:
  static constexpr int kSlots = 256;  // errno values above 255 share the last slot

  void Record(int code) { ++counts_[Slot(code)]; }
  void Add(int code, uint64_t n) { counts_[Slot(code)] += n; }
  void Merge(const ErrorCounts& other);
  uint64_t Total() const;
  // (key, count) per non-zero key, keys merged by class, largest count first.
  std::vector<std::pair<std::string, uint64_t>> ByKey() const;
  // (errno, count) per non-zero errno (kTimeoutErrno for our own timeout).
  std::vector<std::pair<int, uint64_t>> ByErrno() const;
  // A representative errno per key in ByKey order (for ErrorMeaning/Remedy).
  std::vector<std::pair<int, uint64_t>> ByClass() const;

 private:
  static int Slot(int code);
  std::array<uint64_t, kSlots> counts_{};
};

}  // namespace tcpmax::limits

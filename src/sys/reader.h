// Reader: the one door through which tcpmax reads the operating system.
//
// Everything `limits` (and `probe`) needs to know about this box comes
// through a Reader: text files under /proc and /sys, resource limits, the
// capability set and the local addresses. Two implementations exist:
//   - LiveReader reads the running system (files, getrlimit, capget,
//     getifaddrs);
//   - SnapshotReader (sys/snapshot_dir.h) replays a recorded directory, so
//     tests and bug reports see exactly what another box saw.
// A missing reading is an Error (ENOENT, EACCES...), never a crash: callers
// show it as unknown and carry on.
// Thread-safety: implementations are immutable after construction; const
// methods may be called from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace tcpmax::sys {

// RLIM_INFINITY is shown as kUnlimited.
inline constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

struct Rlimit {
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// One address configured on an interface, e.g. {"lo", "127.0.0.1/8", true}.
struct LocalAddress {
  std::string ifname;
  std::string cidr;       // address/prefix as `ip addr` shows it
  bool loopback = false;  // on a loopback interface
};

// The resources Reader::GetRlimit understands (a subset of RLIMIT_*).
enum class RlimitKind { kNofile, kNproc };

class Reader {
 public:
  virtual ~Reader() = default;

  // The whole text of an absolute path such as "/proc/meminfo".
  virtual Result<std::string> ReadFile(std::string_view path) const = 0;
  // This process's soft and hard limit.
  virtual Result<Rlimit> GetRlimit(RlimitKind kind) const = 0;
  // The effective capability set of this process, bit N = capability N.
  virtual Result<uint64_t> EffectiveCapabilities() const = 0;
  // Every configured IPv4/IPv6 address.
  virtual Result<std::vector<LocalAddress>> LocalAddresses() const = 0;
  // "live" or "snapshot <dir>": where the readings came from.
  virtual std::string Describe() const = 0;
};

// Reads the running system.
class LiveReader final : public Reader {
 public:
  Result<std::string> ReadFile(std::string_view path) const override;
  Result<Rlimit> GetRlimit(RlimitKind kind) const override;
  Result<uint64_t> EffectiveCapabilities() const override;
  Result<std::vector<LocalAddress>> LocalAddresses() const override;
  std::string Describe() const override { return "live"; }
};

// Reads a whole file from the real filesystem (what LiveReader::ReadFile does).
Result<std::string> ReadWholeFile(std::string_view path);

// "  32768\t60999\n" -> "32768\t60999"
std::string_view Trim(std::string_view text);

// "32768\t60999" -> {32768, 60999}. Fails on anything that is not a
// whitespace-separated list of unsigned integers.
Result<std::vector<uint64_t>> ParseNumbers(std::string_view text);

}  // namespace tcpmax::sys

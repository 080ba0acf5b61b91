// Sysctls by name: "net.ipv4.ip_local_port_range" is the file
// /proc/sys/net/ipv4/ip_local_port_range.
//
// Reading goes through a Reader (live or a snapshot). Writing always goes to
// the running system, and returns the old value so it can be put back;
// SysctlGuard does that on destruction. Anything tcpmax changes it changes
// only when asked, writes to the run journal first (sys/journal.h), and
// restores only if the sysctl still holds what tcpmax wrote.
// Net sysctls are per network namespace: `netns` names one (/run/netns/NAME),
// "" is the namespace the calling thread is in.
// Thread-safety: functions are reentrant; a SysctlGuard belongs to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

// "net.ipv4.tcp_mem" -> "/proc/sys/net/ipv4/tcp_mem". Slashes in the name
// (as `sysctl` allows for interface names) are kept as written.
std::string SysctlPath(std::string_view name);

// The value with surrounding whitespace trimmed: "32768\t60999".
Result<std::string> ReadSysctl(const Reader& reader, std::string_view name);
// The value as numbers: {32768, 60999}.
Result<std::vector<uint64_t>> ReadSysctlNumbers(const Reader& reader, std::string_view name);
// The first number of the value.
Result<uint64_t> ReadSysctlU64(const Reader& reader, std::string_view name);

// Writes `value` to the live sysctl and returns the value it had before.
// Not journalled: for values tcpmax does not keep changed, use SysctlGuard.
Result<std::string> WriteSysctl(std::string_view name, std::string_view value);

// The live value (trimmed), in namespace `netns`.
Result<std::string> ReadLiveSysctl(std::string_view name, std::string_view netns = {});
// Writes the live value in namespace `netns` (not journalled).
Result<void> WriteLiveSysctl(std::string_view name, std::string_view value, std::string_view netns = {});
// True when two values are the same words ("1024 65535" == "1024\t65535").
bool SameSysctlValue(std::string_view a, std::string_view b);

// Sets a sysctl and puts the old value back when destroyed (or on Restore()).
// Set() writes the change to the run journal (opening it, with the exclusive
// run lock, if nothing opened it yet) before writing the sysctl; Restore()
// puts the old value back only if the sysctl still holds what Set() wrote,
// and otherwise fails with EBUSY, leaving it alone. Move-only.
class SysctlGuard {
 public:
  static Result<SysctlGuard> Set(std::string_view name, std::string_view value, std::string_view netns = {});
  SysctlGuard(SysctlGuard&& o) noexcept;
  SysctlGuard& operator=(SysctlGuard&&) = delete;
  SysctlGuard(const SysctlGuard&) = delete;
  ~SysctlGuard();

  // Restores now; later calls (and the destructor) do nothing. Fails with
  // EBUSY when someone else changed the value since (it is left alone).
  Result<void> Restore();
  const std::string& name() const { return name_; }
  const std::string& old_value() const { return old_; }
  const std::string& netns() const { return netns_; }

 private:
  SysctlGuard(std::string name, std::string old, std::string netns, uint64_t id)
      : name_(std::move(name)), old_(std::move(old)), netns_(std::move(netns)), journal_id_(id) {}
  std::string name_;
  std::string old_;
  std::string netns_;
  uint64_t journal_id_ = 0;
  bool armed_ = true;
};

}  // namespace tcpmax::sys

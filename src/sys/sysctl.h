// Sysctls by name: "net.ipv4.ip_local_port_range" is the file
// /proc/sys/net/ipv4/ip_local_port_range.
//
// Reading goes through a Reader (live or a snapshot). Writing always goes to
// the running system, and returns the old value so it can be put back;
// SysctlGuard does that on destruction. Anything tcpmax changes it changes
// only when asked, and restores.
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
Result<std::string> WriteSysctl(std::string_view name, std::string_view value);

// Sets a sysctl and puts the old value back when destroyed (or on Restore()).
// Move-only.
class SysctlGuard {
 public:
  static Result<SysctlGuard> Set(std::string_view name, std::string_view value);
  SysctlGuard(SysctlGuard&& o) noexcept;
  SysctlGuard& operator=(SysctlGuard&&) = delete;
  SysctlGuard(const SysctlGuard&) = delete;
  ~SysctlGuard();

  // Restores now; later calls (and the destructor) do nothing.
  Result<void> Restore();
  const std::string& name() const { return name_; }
  const std::string& old_value() const { return old_; }

 private:
  SysctlGuard(std::string name, std::string old) : name_(std::move(name)), old_(std::move(old)) {}
  std::string name_;
  std::string old_;
  bool armed_ = true;
};

}  // namespace tcpmax::sys

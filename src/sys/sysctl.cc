#include "sys/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "core/fd.h"

namespace tcpmax::sys {

std::string SysctlPath(std::string_view name) {
  std::string path = "/proc/sys/";
  path.append(name);
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

Result<std::string> ReadSysctl(const Reader& reader, std::string_view name) {
  auto text = reader.ReadFile(SysctlPath(name));
  if (!text) return tl::unexpected(text.error());
  return std::string(Trim(*text));
}

Result<std::vector<uint64_t>> ReadSysctlNumbers(const Reader& reader, std::string_view name) {
  auto text = ReadSysctl(reader, name);
  if (!text) return tl::unexpected(text.error());
  auto nums = ParseNumbers(*text);
  if (!nums) return PlainError(std::string(name) + ": " + nums.error().context);
  if (nums->empty()) return PlainError(std::string(name) + ": empty value");
  return nums;
}

Result<uint64_t> ReadSysctlU64(const Reader& reader, std::string_view name) {
  auto nums = ReadSysctlNumbers(reader, name);
  if (!nums) return tl::unexpected(nums.error());
  return nums->front();
}

Result<std::string> WriteSysctl(std::string_view name, std::string_view value) {
  LiveReader live;
  auto old = ReadSysctl(live, name);
  if (!old) return tl::unexpected(old.error());
  std::string path = SysctlPath(name);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path + " for writing");
  std::string text(value);
  text.push_back('\n');
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return ErrnoError("write '" + std::string(value) + "' to " + path);
  if (size_t(n) != text.size()) return PlainError("short write to " + path);
  return *old;
}

Result<SysctlGuard> SysctlGuard::Set(std::string_view name, std::string_view value) {
  auto old = WriteSysctl(name, value);
  if (!old) return tl::unexpected(old.error());
  return SysctlGuard(std::string(name), std::move(*old));
}

SysctlGuard::SysctlGuard(SysctlGuard&& o) noexcept
    : name_(std::move(o.name_)), old_(std::move(o.old_)), armed_(std::exchange(o.armed_, false)) {}

SysctlGuard::~SysctlGuard() { (void)Restore(); }

Result<void> SysctlGuard::Restore() {
  if (!armed_) return {};
  armed_ = false;
  auto r = WriteSysctl(name_, old_);
  if (!r) return tl::unexpected(r.error());
  return {};
}

}  // namespace tcpmax::sys

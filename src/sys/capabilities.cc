#include "sys/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>

#include "sys/reader.h"

namespace tcpmax::sys {

Result<uint64_t> ProcessCapabilities() {
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return ErrnoError("capget");
  return (uint64_t(data[1].effective) << 32) | data[0].effective;
}

std::string FormatCapabilities(uint64_t mask) { return fmt::format("{:016x}", mask); }

Result<uint64_t> ParseCapabilities(std::string_view hex) {
  hex = Trim(hex);
  uint64_t mask = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), mask, 16);
  if (hex.empty() || ec != std::errc() || end != hex.data() + hex.size()) {
    return PlainError(fmt::format("capability mask '{}': expected hex digits like 000001fffeffffff", hex));
  }
  return mask;
}

}  // namespace tcpmax::sys

#include "sys/meminfo.h"

#include <sstream>

namespace tcpmax::sys {

std::optional<uint64_t> Meminfo::Get(std::string_view field) const {
  auto it = bytes.find(field);
  if (it == bytes.end()) return std::nullopt;
  return it->second;
}

Result<Meminfo> ParseMeminfo(std::string_view text) {
  Meminfo info;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t value = 0;
    std::string unit;
    if (!(fields >> value)) continue;
    fields >> unit;
    info.bytes[line.substr(0, colon)] = unit == "kB" ? value * 1024 : value;
  }
  if (info.bytes.empty()) return PlainError("/proc/meminfo: no 'Name: value' lines");
  return info;
}

Result<Meminfo> ReadMeminfo(const Reader& reader) {
  auto text = reader.ReadFile("/proc/meminfo");
  if (!text) return tl::unexpected(text.error());
  return ParseMeminfo(*text);
}

}  // namespace tcpmax::sys

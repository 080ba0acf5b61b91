#include "sys/netstat.h"

#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace tcpmax::sys {
namespace {

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

Result<NetCounters> ParseNetCounters(std::string_view text) {
  NetCounters out;
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    if (end > at) lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    auto names = Split(lines[i]);
    auto values = Split(lines[i + 1]);
    if (names.empty() || values.empty() || names[0] != values[0] || names.size() != values.size() ||
        names[0].back() != ':') {
      return ErrnoError(EINVAL, fmt::format("net counters: line {} and {} do not pair up", i + 1, i + 2));
    }
    std::string_view prefix = names[0].substr(0, names[0].size() - 1);
    for (size_t k = 1; k < names.size(); ++k) {
      int64_t v = 0;  // a few snmp fields (MaxConn) are -1
      auto [p, ec] = std::from_chars(values[k].data(), values[k].data() + values[k].size(), v);
      if (ec != std::errc()) {
        return ErrnoError(EINVAL, fmt::format("net counters: {}.{} value '{}' is not a number", prefix, names[k], values[k]));
      }
      out[fmt::format("{}.{}", prefix, names[k])] = v < 0 ? 0 : static_cast<uint64_t>(v);
    }
  }
  return out;
}

Result<NetCounters> ReadNetCounters(const Reader& reader) {
  NetCounters all;
  for (std::string_view path : {"/proc/net/netstat", "/proc/net/snmp"}) {
    auto text = reader.ReadFile(path);
    if (!text) return tl::unexpected(text.error());
    auto parsed = ParseNetCounters(*text);
    if (!parsed) return ErrnoError(EINVAL, fmt::format("{}: {}", path, parsed.error().context));
    all.merge(*parsed);
  }
  return all;
}

uint64_t Counter(const NetCounters& counters, std::string_view key) {
  auto it = counters.find(key);
  return it == counters.end() ? 0 : it->second;
}

}  // namespace tcpmax::sys

#include "sys/pressure.h"

#include <cstdlib>
#include <optional>
#include <string>

namespace tcpmax::sys {
namespace {

// The avg10 value of the line starting with `kind`; nullopt when absent.
std::optional<double> Avg10(std::string_view text, std::string_view kind) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.substr(0, kind.size()) == kind) {
      size_t v = line.find("avg10=");
      if (v == std::string_view::npos) return std::nullopt;
      std::string num(line.substr(v + 6, line.find(' ', v) - v - 6));
      char* stop = nullptr;
      double d = std::strtod(num.c_str(), &stop);
      if (stop == num.c_str() || d < 0 || d > 100) return std::nullopt;
      return d;
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

Result<Pressure> ParsePressure(std::string_view text) {
  auto some = Avg10(text, "some ");
  if (!some) return PlainError("pressure: no 'some avg10=' line");
  Pressure p;
  p.some_avg10 = *some;
  p.full_avg10 = Avg10(text, "full ").value_or(0);
  return p;
}

Result<Pressure> ReadPressure(const Reader& reader, std::string_view resource) {
  std::string path = "/proc/pressure/" + std::string(resource);
  auto text = reader.ReadFile(path);
  if (!text) return tl::unexpected(text.error());
  auto p = ParsePressure(*text);
  if (!p) return PlainError(path + ": " + p.error().context);
  return p;
}

}  // namespace tcpmax::sys

#include "core/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tcpmax {
namespace {

struct Split {
  double value = 0;
  std::string_view suffix;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "1.5M" into 1.5 and "M". Fails on an empty or negative number.
Result<Split> SplitNumber(std::string_view text, std::string_view what) {
  std::string_view s = Trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.' || s[i] == '_' || s[i] == ',')) ++i;
  std::string digits;
  for (char c : s.substr(0, i)) {
    if (c != '_' && c != ',') digits.push_back(c);
  }
  if (digits.empty()) {
    return PlainError(fmt::format("'{}' is not {}", text, what));
  }
  Split out;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.value);
  if (ec != std::errc() || p != digits.data() + digits.size() || !std::isfinite(out.value)) {
    return PlainError(fmt::format("'{}' is not {}", text, what));
  }
  out.suffix = Trim(s.substr(i));
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

Result<uint64_t> ToInteger(double v, std::string_view text, std::string_view what) {
  if (v < 0 || v > static_cast<double>(std::numeric_limits<uint64_t>::max()) || v != std::floor(v)) {
    return PlainError(fmt::format("'{}' is not {}", text, what));
  }
  return static_cast<uint64_t>(v);
}

}  // namespace

Result<uint64_t> ParseCount(std::string_view text) {
  constexpr std::string_view kWhat = "a count (e.g. 20000, 10k, 2M)";
  auto split = SplitNumber(text, kWhat);
  if (!split) return tl::unexpected(split.error());
  double mult = 1;
  std::string_view sfx = split->suffix;
  if (sfx.empty()) mult = 1;
  else if (sfx == "k" || sfx == "K") mult = 1e3;
  else if (sfx == "m" || sfx == "M") mult = 1e6;
  else if (sfx == "g" || sfx == "G") mult = 1e9;
  else return PlainError(fmt::format("'{}' is not {}", text, kWhat));
  return ToInteger(std::round(split->value * mult * 1e6) / 1e6, text, kWhat);
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  constexpr std::string_view kWhat = "a duration (e.g. 30s, 500ms, 2m)";
  auto split = SplitNumber(text, kWhat);
  if (!split) return tl::unexpected(split.error());
  double ns_per = 0;
  std::string_view sfx = split->suffix;
  if (sfx.empty() || sfx == "s") ns_per = 1e9;
  else if (sfx == "ms") ns_per = 1e6;
  else if (sfx == "us") ns_per = 1e3;
  else if (sfx == "ns") ns_per = 1;
  else if (sfx == "m" || sfx == "min") ns_per = 60e9;
  else if (sfx == "h") ns_per = 3600e9;
  else return PlainError(fmt::format("'{}' is not {}", text, kWhat));
  double ns = split->value * ns_per;
  if (ns > 9e18) return PlainError(fmt::format("'{}' is too long a duration", text));
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(ns)));
}

Result<uint64_t> ParseBytes(std::string_view text) {
  constexpr std::string_view kWhat = "a size (e.g. 4096, 64K, 1GiB)";
  auto split = SplitNumber(text, kWhat);
  if (!split) return tl::unexpected(split.error());
  std::string_view sfx = split->suffix;
  double mult = 0;
  if (sfx.empty() || IEquals(sfx, "b")) mult = 1;
  else if (sfx == "K" || sfx == "k" || IEquals(sfx, "KiB")) mult = 1024.0;
  else if (sfx == "M" || IEquals(sfx, "MiB")) mult = 1024.0 * 1024;
  else if (sfx == "G" || IEquals(sfx, "GiB")) mult = 1024.0 * 1024 * 1024;
  else if (sfx == "kB" || sfx == "KB") mult = 1e3;
  else if (sfx == "MB") mult = 1e6;
  else if (sfx == "GB") mult = 1e9;
  else return PlainError(fmt::format("'{}' is not {}", text, kWhat));
  return ToInteger(std::round(split->value * mult), text, kWhat);
}

Result<double> ParseRate(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.size() > 2 && s.substr(s.size() - 2) == "/s") s.remove_suffix(2);
  auto n = ParseCount(s);
  if (n) return static_cast<double>(*n);
  // Fractional rates such as "0.5/s".
  auto split = SplitNumber(s, "a rate (e.g. 5000/s, 50k/s)");
  if (split && split->suffix.empty()) return split->value;
  return PlainError(fmt::format("'{}' is not a rate (e.g. 5000/s, 50k/s)", text));
}

Result<double> ParsePercent(std::string_view text) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.back() == '%') s.remove_suffix(1);
  auto split = SplitNumber(s, "a percentage (e.g. 10%)");
  if (!split || !split->suffix.empty() || split->value > 100) {
    return PlainError(fmt::format("'{}' is not a percentage from 0 to 100 (e.g. 10%)", text));
  }
  return split->value;
}

std::string FormatCount(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  int lead = static_cast<int>(digits.size() % 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (static_cast<int>(i) - lead) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string FormatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double v = bytes;
  while (std::fabs(v) >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f} B", v);
  return fmt::format("{:.{}f} {}", v, std::fabs(v) < 10 ? 2 : 1, kUnits[u]);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  double ns = static_cast<double>(d.count());
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.2f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.2f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

std::string FormatShort(double n) {
  if (n < 1e3) return fmt::format("{:.0f}", n);
  if (n < 1e6) return fmt::format("{:.1f}k", n / 1e3);
  if (n < 1e9) return fmt::format("{:.2f}M", n / 1e6);
  if (n < 1e12) return fmt::format("{:.2f}G", n / 1e9);
  return fmt::format("{:.3g}", n);
}

}  // namespace tcpmax

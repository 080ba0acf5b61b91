#include "core/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tcpmax {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "1,234.5k" -> digits "1234", fraction "5", suffix "k".
struct Split {
  std::string digits;
  std::string fraction;
  std::string_view suffix;
};

// Counts and sizes stop at 2^63 - 1: beyond any real count, and safe for the
// arithmetic callers do with them.
constexpr uint64_t kMaxWhole = uint64_t(std::numeric_limits<int64_t>::max());

tl::unexpected<Error> Not(std::string_view text, std::string_view what) {
  return PlainError(fmt::format("'{}' is not {}", text, what));
}

// Thousands separators (',' or '_') are accepted between groups of exactly
// three digits only: "1,000,000" and "1_000" yes, "1,5" and "10,00" no.
bool GroupsOk(std::string_view part) {
  size_t group = 0;
  bool first = true, any_sep = false;
  for (char c : part) {
    if (c == ',' || c == '_') {
      if (group == 0 || (!first && group != 3) || (first && group > 3)) return false;
      first = false, any_sep = true, group = 0;
    } else {
      ++group;
    }
  }
  return group > 0 && (!any_sep || group == 3);
}

// Splits "1.5M" into 1, 5 and "M". Fails on an empty or negative number and
// on a stray separator.
Result<Split> SplitNumber(std::string_view text, std::string_view what) {
  std::string_view s = Trim(text);
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == ',')) ++i;
  std::string_view whole = s.substr(0, i);
  Split out;
  if (i < s.size() && s[i] == '.') {
    size_t f = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    out.fraction = std::string(s.substr(f, i - f));
    if (out.fraction.empty()) return Not(text, what);
  }
  if (whole.empty() || !GroupsOk(whole)) return Not(text, what);
  for (char c : whole) {
    if (c != '_' && c != ',') out.digits.push_back(c);
  }
  out.suffix = Trim(s.substr(i));
  return out;
}

double ToDouble(const Split& n) {
  std::string t = n.digits + (n.fraction.empty() ? "" : "." + n.fraction);
  double v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

// The exact whole number n x mult: no rounding, no overflow.
Result<uint64_t> Exact(const Split& n, uint64_t mult, std::string_view text, std::string_view what) {
  using u128 = unsigned __int128;
  u128 v = 0;
  for (char c : n.digits) {
    v = v * 10 + u128(c - '0');
    if (v > kMaxWhole) return PlainError(fmt::format("'{}' is too large (at most {})", text, kMaxWhole));
  }
  v *= mult;
  if (v > kMaxWhole) return PlainError(fmt::format("'{}' is too large (at most {})", text, kMaxWhole));
  std::string_view frac = n.fraction;
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > 18) return Not(text, what);
  u128 num = 0, den = 1;
  for (char c : frac) num = num * 10 + u128(c - '0'), den *= 10;
  if ((num * mult) % den != 0) return Not(text, what);  // not a whole number
  v += num * mult / den;
  if (v > kMaxWhole) return PlainError(fmt::format("'{}' is too large (at most {})", text, kMaxWhole));
  return uint64_t(v);
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

Result<uint64_t> ParseCount(std::string_view text) {
  constexpr std::string_view kWhat = "a count (e.g. 20000, 10k, 2M)";
  auto split = SplitNumber(text, kWhat);
  if (!split) return tl::unexpected(split.error());
  uint64_t mult = 1;
  std::string_view sfx = split->suffix;
  if (sfx.empty()) mult = 1;
  else if (sfx == "k" || sfx == "K") mult = 1'000;
  else if (sfx == "m" || sfx == "M") mult = 1'000'000;
  else if (sfx == "g" || sfx == "G") mult = 1'000'000'000;
  else return Not(text, kWhat);
  return Exact(*split, mult, text, kWhat);
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
  double ns = ToDouble(*split) * ns_per;
  if (ns > 9e18) return PlainError(fmt::format("'{}' is too long a duration", text));
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(ns)));
}

Result<uint64_t> ParseBytes(std::string_view text) {
  constexpr std::string_view kWhat = "a size (e.g. 4096, 64K, 1GiB)";
  auto split = SplitNumber(text, kWhat);
  if (!split) return tl::unexpected(split.error());
  std::string_view sfx = split->suffix;
  uint64_t mult = 0;
  if (sfx.empty() || IEquals(sfx, "b")) mult = 1;
  else if (sfx == "K" || sfx == "k" || IEquals(sfx, "KiB")) mult = 1ull << 10;
  else if (sfx == "M" || IEquals(sfx, "MiB")) mult = 1ull << 20;
  else if (sfx == "G" || IEquals(sfx, "GiB")) mult = 1ull << 30;
  else if (sfx == "kB" || sfx == "KB") mult = 1'000;
  else if (sfx == "MB") mult = 1'000'000;
  else if (sfx == "GB") mult = 1'000'000'000;
  else return Not(text, kWhat);
  return Exact(*split, mult, text, kWhat);
}

Result<double> ParseRate(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.size() > 2 && s.substr(s.size() - 2) == "/s") s.remove_suffix(2);
  auto n = ParseCount(s);
  if (n) return static_cast<double>(*n);
  // Fractional rates such as "0.5/s".
  auto split = SplitNumber(s, "a rate (e.g. 5000/s, 50k/s)");
  if (split && split->suffix.empty()) return ToDouble(*split);
  return PlainError(fmt::format("'{}' is not a rate (e.g. 5000/s, 50k/s)", text));
}

Result<double> ParsePercent(std::string_view text) {
  std::string_view s = Trim(text);
  if (!s.empty() && s.back() == '%') s.remove_suffix(1);
  auto split = SplitNumber(s, "a percentage (e.g. 10%)");
  if (!split || !split->suffix.empty() || ToDouble(*split) > 100) {
    return PlainError(fmt::format("'{}' is not a percentage from 0 to 100 (e.g. 10%)", text));
  }
  return ToDouble(*split);
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

#include "dist/start_time.h"

#include <time.h>

#include <charconv>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::dist {
namespace {

using std::chrono::nanoseconds;

// Reads exactly `digits` decimal digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, int digits, int* out) {
  if (*pos + static_cast<size_t>(digits) > text.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(digits);
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, std::string_view any_of) {
  if (*pos >= text.size() || any_of.find(text[*pos]) == std::string_view::npos) return false;
  ++*pos;
  return true;
}

Error Bad(std::string_view text) {
  std::string msg = "'";
  msg.append(text);
  msg.append("': expected an RFC 3339 time like 2026-12-01T09:30:00Z (or +10s from TCPMAX_START_BASE)");
  return Error{0, std::move(msg)};
}

}  // namespace

Result<WallTime> ParseRfc3339(std::string_view text) {
  size_t p = 0;
  tm t{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!Digits(text, &p, 4, &year) || !Expect(text, &p, "-") || !Digits(text, &p, 2, &mon) ||
      !Expect(text, &p, "-") || !Digits(text, &p, 2, &day) || !Expect(text, &p, "Tt ") ||
      !Digits(text, &p, 2, &hour) || !Expect(text, &p, ":") || !Digits(text, &p, 2, &min) ||
      !Expect(text, &p, ":") || !Digits(text, &p, 2, &sec)) {
    return tl::unexpected(Bad(text));
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return tl::unexpected(Bad(text));
  }
  int64_t frac_ns = 0;
  if (p < text.size() && text[p] == '.') {
    ++p;
    int64_t scale = 100'000'000;
    size_t digits = 0;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
      frac_ns += (text[p] - '0') * scale;
      scale /= 10;
      ++p;
      ++digits;
    }
    if (digits == 0) return tl::unexpected(Bad(text));
  }
  int offset_s = 0;
  if (p < text.size() && (text[p] == 'Z' || text[p] == 'z')) {
    ++p;
  } else if (p < text.size() && (text[p] == '+' || text[p] == '-')) {
    int sign = text[p] == '-' ? -1 : 1, oh = 0, om = 0;
    ++p;
    if (!Digits(text, &p, 2, &oh) || !Expect(text, &p, ":") || !Digits(text, &p, 2, &om) || oh > 23 || om > 59) {
      return tl::unexpected(Bad(text));
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return tl::unexpected(Bad(text));
  }
  if (p != text.size()) return tl::unexpected(Bad(text));
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  time_t secs = ::timegm(&t);
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::seconds(secs - offset_s) +
                                                                  nanoseconds(frac_ns)));
}

std::string FormatRfc3339(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = static_cast<int>(ms - static_cast<int64_t>(secs) * 1000);
  tm u{};
  ::gmtime_r(&secs, &u);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.tm_year + 1900, u.tm_mon + 1, u.tm_mday,
                u.tm_hour, u.tm_min, u.tm_sec, frac);
  return buf;
}

Result<WallTime> ParseUnixSeconds(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    return PlainError("TCPMAX_START_BASE='" + std::string(text) + "': expected Unix seconds (date +%s)");
  }
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(v)));
}

Result<WallTime> ParseStartAt(std::string_view text, WallTime base, WallTime now) {
  WallTime start;
  if (!text.empty() && text[0] == '+') {
    auto d = ParseDuration(text.substr(1));
    if (!d) return tl::unexpected(Bad(text));
    start = base + std::chrono::duration_cast<WallTime::duration>(*d);
  } else {
    auto t = ParseRfc3339(text);
    if (!t) return t;
    start = *t;
  }
  if (start + kStartTolerance < now) {
    return PlainError(fmt::format("'{}' is {}, in the past (now {})", text, FormatRfc3339(start), FormatRfc3339(now)));
  }
  return start;
}

std::optional<int64_t> WaitUntil(WallTime start, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto now = std::chrono::system_clock::now();
    if (now >= start) return std::chrono::duration_cast<nanoseconds>(now - start).count();
    auto left = std::chrono::duration_cast<nanoseconds>(start - now).count();
    int64_t nap = std::min<int64_t>(left, 50'000'000);  // wake to see `stop`
    timespec ts{static_cast<time_t>(nap / 1'000'000'000), static_cast<long>(nap % 1'000'000'000)};
    ::nanosleep(&ts, nullptr);
  }
  return std::nullopt;
}

}  // namespace tcpmax::dist

#include "metrics/exposition.h"

#include <cmath>

#include <fmt/format.h>

namespace tcpmax::metrics {
namespace {

// Label values escape backslash, double quote and newline; HELP text
// escapes backslash and newline (exposition format 0.0.4).
std::string Escape(std::string_view s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Seconds with nanosecond precision, exact for an integer count of ns.
std::string NanosAsSeconds(uint64_t ns) {
  std::string s = fmt::format("{}.{:09}", ns / 1'000'000'000ull, ns % 1'000'000'000ull);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

const std::vector<int>& Exposition::BucketBounds() {
  static const std::vector<int> bounds = [] {
    std::vector<int> out;
    for (uint64_t decade = 10'000; decade <= 10'000'000'000ull; decade *= 10) {
      for (uint64_t tenths : {10, 25, 50}) {  // 1x, 2.5x, 5x the decade
        uint64_t ns = decade * tenths / 10;
        if (ns > 10'000'000'000ull) break;
        out.push_back(Histogram::BucketOf(ns));
      }
    }
    return out;
  }();
  return bounds;
}

std::string Exposition::LabelText(const Labels& extra) const {
  std::string out;
  auto add = [&](const Labels& ls) {
    for (const auto& [k, v] : ls) out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", k, Escape(v, true));
  };
  add(const_labels_);
  add(extra);
  return out.empty() ? std::string() : fmt::format("{{{}}}", out);
}

void Exposition::Family(std::string_view name, std::string_view type, std::string_view help,
                        const std::vector<std::pair<Labels, double>>& samples) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, Escape(help, false), name, type);
  for (const auto& [labels, v] : samples) text_ += fmt::format("{}{} {}\n", name, LabelText(labels), FormatValue(v));
}

void Exposition::Counter(std::string_view name, std::string_view help,
                         const std::vector<std::pair<Labels, double>>& samples) {
  Family(name, "counter", help, samples);
}

void Exposition::Gauge(std::string_view name, std::string_view help,
                       const std::vector<std::pair<Labels, double>>& samples) {
  Family(name, "gauge", help, samples);
}

void Exposition::HistogramSeconds(std::string_view name, std::string_view help, const Histogram& h) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, Escape(help, false), name);
  for (int b : BucketBounds()) {
    text_ += fmt::format("{}_bucket{} {}\n", name, LabelText({{"le", NanosAsSeconds(Histogram::UpperOf(b))}}),
                         h.CountThrough(b));
  }
  text_ += fmt::format("{}_bucket{} {}\n", name, LabelText({{"le", "+Inf"}}), h.count());
  text_ += fmt::format("{}_sum{} {}\n", name, LabelText({}), NanosAsSeconds(h.sum()));
  text_ += fmt::format("{}_count{} {}\n", name, LabelText({}), h.count());
}

}  // namespace tcpmax::metrics

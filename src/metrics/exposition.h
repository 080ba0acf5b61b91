// The Prometheus text exposition format (version 0.0.4): families of
// counters, gauges and histograms, each with its # HELP and # TYPE lines,
// built from plain values. One writer; render with Text().
//
// Latency histograms come from tcpmax::Histogram (nanoseconds) and are
// exposed in seconds. Their `le` bounds are the histogram's own bucket edges
// nearest above 10us, 25us, 50us, ... 10s (e.g. le="0.001015807" for 1 ms),
// so every cumulative count is exact, not interpolated.
// Thread-safety: none; build one per scrape snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.h"

namespace tcpmax::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  // `const_labels` go on every sample (e.g. {"rank", "3"}).
  explicit Exposition(Labels const_labels = {}) : const_labels_(std::move(const_labels)) {}

  // A family with one sample per label set; names must match
  // [a-zA-Z_:][a-zA-Z0-9_:]*, counters end in _total.
  void Counter(std::string_view name, std::string_view help, const std::vector<std::pair<Labels, double>>& samples);
  void Counter(std::string_view name, std::string_view help, double value) { Counter(name, help, {{{}, value}}); }
  void Gauge(std::string_view name, std::string_view help, const std::vector<std::pair<Labels, double>>& samples);
  void Gauge(std::string_view name, std::string_view help, double value) { Gauge(name, help, {{{}, value}}); }
  // `h` in nanoseconds, exposed in seconds: _bucket{le=...}, _sum, _count.
  void HistogramSeconds(std::string_view name, std::string_view help, const Histogram& h);

  const std::string& Text() const { return text_; }

  // The `le` bounds HistogramSeconds uses, as histogram bucket indexes.
  static const std::vector<int>& BucketBounds();

 private:
  void Family(std::string_view name, std::string_view type, std::string_view help,
              const std::vector<std::pair<Labels, double>>& samples);
  std::string LabelText(const Labels& extra) const;

  Labels const_labels_;
  std::string text_;
};

// "1.5", "0", "+Inf": the format's number syntax.
std::string FormatValue(double v);

}  // namespace tcpmax::metrics

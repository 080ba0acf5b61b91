#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tcpmax::report {
namespace {

constexpr int kLeft = 70, kRight = 20, kTop = 36, kBottom = 48;

std::string Open(const Axes& a) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"#fff\"/>\n"
      "<text x=\"{2}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{3}</text>\n",
      a.width, a.height, kLeft, XmlEscape(a.title));
}

}  // namespace

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int count) {
  if (!(hi > lo)) hi = lo + 1;
  double raw = (hi - lo) / std::max(1, count);
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  double first = std::floor(lo / step), last = std::ceil(hi / step);
  for (double k = first; k <= last; k += 1) ticks.push_back(k * step);
  return ticks;
}

std::string TickLabel(double v) {
  double a = std::fabs(v);
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
    return s;
  };
  if (a >= 1e12) return trim(fmt::format("{:.2f}", v / 1e12)) + "T";
  if (a >= 1e9) return trim(fmt::format("{:.2f}", v / 1e9)) + "G";
  if (a >= 1e6) return trim(fmt::format("{:.2f}", v / 1e6)) + "M";
  if (a >= 1e3) return trim(fmt::format("{:.2f}", v / 1e3)) + "k";
  return trim(fmt::format("{:.2f}", v));
}

std::string LineChart(const Axes& a, const std::vector<Series>& series) {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  bool any = false;
  for (const auto& s : series) {
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      if (!any) {
        x0 = x1 = p.x;
        y0 = std::min(0.0, p.y);
        y1 = p.y;
        any = true;
      }
      x0 = std::min(x0, p.x);
      x1 = std::max(x1, p.x);
      y0 = std::min(y0, p.y);
      y1 = std::max(y1, p.y);
    }
  }
  std::vector<double> xt = NiceTicks(x0, x1, 6), yt = NiceTicks(y0, y1, 5);
  x0 = xt.front();
  x1 = std::max(xt.back(), x0 + 1e-9);
  y0 = yt.front();
  y1 = std::max(yt.back(), y0 + 1e-9);
  double pw = a.width - kLeft - kRight, ph = a.height - kTop - kBottom;
  auto X = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return kTop + ph - (y - y0) / (y1 - y0) * ph; };
  std::string svg = Open(a);
  for (double t : yt) {
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e5e5e5\"/>"
                       "<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                       kLeft, kLeft + pw, Y(t), Y(t), kLeft - 6, Y(t) + 4, TickLabel(t));
  }
  for (double t : xt) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", X(t), kTop + ph + 16,
                       TickLabel(t));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n", kLeft, kTop,
                     pw, ph);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, a.height - 8,
                     XmlEscape(a.x_label));
  svg += fmt::format("<text transform=\"translate(14,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                     kTop + ph / 2, XmlEscape(a.y_label));
  int legend_x = kLeft + 10;
  for (const auto& s : series) {
    if (s.dots) {
      for (const auto& p : s.points) {
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", X(p.x), Y(p.y), s.color);
      }
    } else if (!s.points.empty()) {
      std::string pts;
      for (const auto& p : s.points) pts += fmt::format("{:.1f},{:.1f} ", X(p.x), Y(p.y));
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>", s.color, pts);
    }
    svg += fmt::format("\n<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n",
                       legend_x, kTop + 6, s.color, legend_x + 14, kTop + 15, XmlEscape(s.name));
    legend_x += 24 + static_cast<int>(s.name.size()) * 7;
  }
  svg += "</svg>\n";
  return svg;
}

std::string LogBarChart(const Axes& a, const std::vector<Bar>& bars) {
  const int label_w = 260, row = 26;
  Axes sized = a;
  sized.height = kTop + static_cast<int>(bars.size()) * row + kBottom;
  double lo = 1e300, hi = 1;
  for (const auto& b : bars) {
    if (b.value > 0) {
      lo = std::min(lo, b.value);
      hi = std::max(hi, b.value);
    }
  }
  if (lo > hi) lo = 1;
  double d0 = std::floor(std::log10(std::max(1.0, lo))) - 0;
  double d1 = std::ceil(std::log10(hi));
  if (d1 <= d0) d1 = d0 + 1;
  double pw = a.width - label_w - kRight - 60;
  auto X = [&](double v) { return label_w + (std::log10(std::max(v, 1.0)) - d0) / (d1 - d0) * pw; };
  std::string svg = Open(sized);
  for (double d = d0; d <= d1; d += 1) {
    double x = label_w + (d - d0) / (d1 - d0) * pw;
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#e5e5e5\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       x, kTop, kTop + bars.size() * row, kTop + bars.size() * row + 16,
                       TickLabel(std::pow(10, d)));
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    int y = kTop + static_cast<int>(i) * row;
    std::string color = b.measured ? "#2a9d5c" : b.highlight ? "#d1495b" : "#4878b8";
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", label_w - 8, y + 17,
                       XmlEscape(b.label));
    double w = b.value > 0 ? std::max(1.0, X(b.value) - label_w) : 0;
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"18\" fill=\"{}\"/>", label_w, y + 4, w,
                       color);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", label_w + w + 4, y + 17,
                       b.value > 0 ? TickLabel(b.value) : "unknown");
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", label_w + pw / 2,
                     sized.height - 8, XmlEscape(a.x_label));
  svg += "</svg>\n";
  return svg;
}

}  // namespace tcpmax::report

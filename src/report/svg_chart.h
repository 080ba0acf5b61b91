// SVG charts for the self-contained HTML report: built as text, no script,
// no network, so the page renders anywhere. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace tcpmax::report {

struct XY {
  double x = 0;
  double y = 0;
};

struct Series {
  std::string name;
  std::string color;        // CSS color
  std::vector<XY> points;
  bool dots = false;        // scatter dots instead of a line
};

struct Axes {
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 720;
  int height = 320;
};

// Lines and/or dots on linear axes, with "nice" ticks and a legend.
std::string LineChart(const Axes& axes, const std::vector<Series>& series);

struct Bar {
  std::string label;
  double value = 0;
  bool highlight = false;   // drawn in the accent color (the binding limit)
  bool measured = false;    // drawn in the measured color
};

// Horizontal bars on a log10 scale (ceilings span 10^3..10^19).
std::string LogBarChart(const Axes& axes, const std::vector<Bar>& bars);

// Round tick values covering [lo, hi], about `count` of them.
std::vector<double> NiceTicks(double lo, double hi, int count);
// 1500000 -> "1.5M"
std::string TickLabel(double v);
// Escapes &, <, >, " for XML text and attributes.
std::string XmlEscape(std::string_view s);

}  // namespace tcpmax::report

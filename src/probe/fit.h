// Least-squares line through (connections, bytes) samples: the slope is the
// memory cost of one more connection. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace tcpmax::probe {

struct Point {
  double x = 0;  // connections
  double y = 0;  // bytes
};

struct LineFit {
  double slope = 0;       // bytes per connection
  double intercept = 0;   // bytes at zero connections
  double r2 = 0;          // coefficient of determination, 0..1
  size_t points = 0;
  bool valid() const { return points >= 2; }
};

// Fits y = slope * x + intercept. Needs two or more points with distinct x;
// otherwise returns a fit with points < 2.
LineFit FitLine(const std::vector<Point>& pts);

}  // namespace tcpmax::probe

#include "probe/fit.h"

namespace tcpmax::probe {

LineFit FitLine(const std::vector<Point>& pts) {
  LineFit f;
  double n = static_cast<double>(pts.size());
  if (pts.size() < 2) return f;
  double sx = 0, sy = 0;
  for (const Point& p : pts) {
    sx += p.x;
    sy += p.y;
  }
  double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (const Point& p : pts) {
    sxx += (p.x - mx) * (p.x - mx);
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) * (p.y - my);
  }
  if (sxx == 0) return f;
  f.points = pts.size();
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  f.r2 = syy == 0 ? 1.0 : (sxy * sxy) / (sxx * syy);
  return f;
}

}  // namespace tcpmax::probe

#include "probe/fit.h"

#include <gtest/gtest.h>

namespace tcpmax::probe {
namespace {

TEST(FitLine, ExactLine) {
  std::vector<Point> pts;
  for (int i = 0; i <= 10; ++i) pts.push_back({i * 1000.0, 6500.0 * i * 1000 + 4e6});
  LineFit f = FitLine(pts);
  ASSERT_TRUE(f.valid());
  EXPECT_NEAR(f.slope, 6500, 1e-6);
  EXPECT_NEAR(f.intercept, 4e6, 1e-3);
  EXPECT_NEAR(f.r2, 1.0, 1e-12);
}

TEST(FitLine, NoisyLineKeepsSlopeAndLowersR2) {
  std::vector<Point> pts;
  for (int i = 0; i < 100; ++i) pts.push_back({i * 1000.0, 3000.0 * i * 1000 + ((i % 2) ? 5e5 : -5e5)});
  LineFit f = FitLine(pts);
  EXPECT_NEAR(f.slope, 3000, 30);
  EXPECT_LT(f.r2, 1.0);
  EXPECT_GT(f.r2, 0.9);
}

TEST(FitLine, TooFewOrDegeneratePoints) {
  EXPECT_FALSE(FitLine({}).valid());
  EXPECT_FALSE(FitLine({{1, 2}}).valid());
  EXPECT_FALSE(FitLine({{5, 1}, {5, 9}}).valid());  // one x: no slope
}

}  // namespace
}  // namespace tcpmax::probe

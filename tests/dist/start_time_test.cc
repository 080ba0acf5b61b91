#include "dist/start_time.h"

#include <gtest/gtest.h>

namespace tcpmax::dist {
namespace {

using std::chrono::seconds;

WallTime At(int64_t unix_seconds) { return WallTime(seconds(unix_seconds)); }

TEST(StartTime, Rfc3339Forms) {
  auto z = ParseRfc3339("2026-12-01T09:30:00Z");
  ASSERT_TRUE(z) << z.error().ToString();
  EXPECT_EQ(*z, At(1796117400));
  auto off = ParseRfc3339("2026-12-01T10:30:00+01:00");
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, *z);
  auto frac = ParseRfc3339("2026-12-01T09:30:00.250Z");
  ASSERT_TRUE(frac);
  EXPECT_EQ(*frac - *z, std::chrono::milliseconds(250));
  EXPECT_EQ(FormatRfc3339(*frac), "2026-12-01T09:30:00.250Z");
}

TEST(StartTime, BadRfc3339) {
  for (const char* bad : {"", "2026-12-01", "2026-12-01T09:30:00", "2026-13-01T09:30:00Z", "2026-12-01T09:30:00Zx",
                          "2026-12-01T09:30:00.Z", "tomorrow"}) {
    EXPECT_FALSE(ParseRfc3339(bad)) << bad;
  }
}

TEST(StartTime, RelativeToBase) {
  auto t = ParseStartAt("+10s", At(1000), At(1001));
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(*t, At(1010));
  EXPECT_FALSE(ParseStartAt("+ten", At(1000), At(1000)));
}

TEST(StartTime, PastBeyondToleranceIsRefused) {
  EXPECT_TRUE(ParseStartAt("+0s", At(1000), At(1000) + kStartTolerance));  // within tolerance
  auto late = ParseStartAt("+0s", At(1000), At(1000) + kStartTolerance + seconds(1));
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().context.find("in the past"), std::string::npos);
  EXPECT_FALSE(ParseStartAt("2020-01-01T00:00:00Z", At(0), std::chrono::system_clock::now()));
}

TEST(StartTime, UnixSeconds) {
  auto t = ParseUnixSeconds("1700000000.5");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, At(1700000000) + std::chrono::milliseconds(500));
  EXPECT_FALSE(ParseUnixSeconds("soon"));
}

TEST(StartTime, WaitUntilStopsOnFlag) {
  std::atomic<bool> stop{true};
  EXPECT_FALSE(WaitUntil(std::chrono::system_clock::now() + seconds(60), stop).has_value());
  std::atomic<bool> go{false};
  auto late = WaitUntil(std::chrono::system_clock::now(), go);
  ASSERT_TRUE(late.has_value());
  EXPECT_GE(*late, 0);
}

}  // namespace
}  // namespace tcpmax::dist

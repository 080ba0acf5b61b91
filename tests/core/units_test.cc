#include "core/units.h"

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

using namespace std::chrono_literals;

TEST(ParseCount, AcceptsPlainAndSuffixed) {
  EXPECT_EQ(*ParseCount("20000"), 20000u);
  EXPECT_EQ(*ParseCount("10k"), 10000u);
  EXPECT_EQ(*ParseCount("2M"), 2000000u);
  EXPECT_EQ(*ParseCount("1.5M"), 1500000u);
  EXPECT_EQ(*ParseCount("3G"), 3000000000u);
  EXPECT_EQ(*ParseCount("1_000_000"), 1000000u);
}

TEST(ParseCount, RejectsGarbageWithTheText) {
  auto r = ParseCount("ten");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("'ten'"), std::string::npos);
  EXPECT_FALSE(ParseCount("10x"));
  EXPECT_FALSE(ParseCount("-5"));
  EXPECT_FALSE(ParseCount(""));
  EXPECT_FALSE(ParseCount("1.5"));  // not a whole count
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*ParseDuration("30s"), 30s);
  EXPECT_EQ(*ParseDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseDuration("2m"), 120s);
  EXPECT_EQ(*ParseDuration("1h"), 3600s);
  EXPECT_EQ(*ParseDuration("250us"), 250us);
  EXPECT_EQ(*ParseDuration("10"), 10s);
  EXPECT_EQ(*ParseDuration("1.5s"), 1500ms);
  EXPECT_FALSE(ParseDuration("5 parsecs"));
}

TEST(ParseBytes, BinaryAndDecimal) {
  EXPECT_EQ(*ParseBytes("4096"), 4096u);
  EXPECT_EQ(*ParseBytes("4K"), 4096u);
  EXPECT_EQ(*ParseBytes("1MiB"), 1048576u);
  EXPECT_EQ(*ParseBytes("2G"), 2147483648u);
  EXPECT_EQ(*ParseBytes("1kB"), 1000u);
  EXPECT_FALSE(ParseBytes("12 furlongs"));
}

TEST(ParseRate, PerSecond) {
  EXPECT_DOUBLE_EQ(*ParseRate("5000/s"), 5000);
  EXPECT_DOUBLE_EQ(*ParseRate("50k/s"), 50000);
  EXPECT_DOUBLE_EQ(*ParseRate("0.5/s"), 0.5);
  EXPECT_FALSE(ParseRate("fast"));
}

TEST(ParsePercent, Range) {
  EXPECT_DOUBLE_EQ(*ParsePercent("10%"), 10);
  EXPECT_DOUBLE_EQ(*ParsePercent("2.5"), 2.5);
  EXPECT_FALSE(ParsePercent("150%"));
}

TEST(Format, CountBytesDurationShort) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.50 KiB");
  EXPECT_EQ(FormatBytes(24.0 * 1024 * 1024 * 1024), "24.0 GiB");
  EXPECT_EQ(FormatDuration(1500ms), "1.50 s");
  EXPECT_EQ(FormatDuration(2500ns), "2.50 us");
  EXPECT_EQ(FormatShort(1234567), "1.23M");
  EXPECT_EQ(FormatShort(20000), "20.0k");
}

}  // namespace
}  // namespace tcpmax

namespace tcpmax {
namespace {

TEST(ParseCount, OverflowIsAnErrorNotZero) {
  for (const char* t : {"18446744073709551615", "18446744073709551616", "99999999999999999999k", "9223372036854775808",
                        "10000000000G", "9223372036854775807k"}) {
    auto r = ParseCount(t);
    ASSERT_FALSE(r) << t << " parsed as " << *r;
    EXPECT_NE(r.error().context.find("too large"), std::string::npos) << r.error().context;
  }
  EXPECT_EQ(*ParseCount("9223372036854775807"), 9223372036854775807ull);  // the largest accepted
  EXPECT_EQ(*ParseCount("9007199254740993"), 9007199254740993ull);        // exact beyond 2^53
}

TEST(ParseCount, SeparatorsOnlyBetweenGroupsOfThree) {
  EXPECT_EQ(*ParseCount("1,000"), 1000u);
  EXPECT_EQ(*ParseCount("10,000,000"), 10000000u);
  EXPECT_EQ(*ParseCount("1,500k"), 1500000u);
  for (const char* t : {"1,5k", "1,5", "10,00", "1,0000", ",100", "100,", "1__000", "1.5,000", "1,000.5,0"}) {
    EXPECT_FALSE(ParseCount(t)) << t;
  }
}

TEST(ParseCount, NegativesAndOddFormsAreErrors) {
  for (const char* t : {"-1", "-0", "+5", "1e6", "0x10", "nan", "inf", "1.", ".5k", "1..5"}) {
    EXPECT_FALSE(ParseCount(t)) << t;
  }
  EXPECT_EQ(*ParseCount("0.5k"), 500u);
  EXPECT_EQ(*ParseCount("1.25M"), 1250000u);
  EXPECT_FALSE(ParseCount("1.0005k"));  // 1000.5: not whole
}

TEST(ParseBytes, OverflowAndSeparators) {
  EXPECT_FALSE(ParseBytes("18446744073709551615"));
  EXPECT_FALSE(ParseBytes("99999999999G"));
  EXPECT_FALSE(ParseBytes("1,5G"));
  EXPECT_FALSE(ParseBytes("-4K"));
  EXPECT_EQ(*ParseBytes("1.5K"), 1536u);
  EXPECT_EQ(*ParseBytes("8,192"), 8192u);
}

TEST(ParseDuration, StraySeparatorsAreErrors) {
  EXPECT_FALSE(ParseDuration("1,5s"));
  EXPECT_FALSE(ParseDuration("-1s"));
  EXPECT_FALSE(ParseDuration("99999999999999999999h"));
}

}  // namespace
}  // namespace tcpmax

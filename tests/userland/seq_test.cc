#include "userland/tcp/seq.h"

#include <gtest/gtest.h>

namespace tcpmax::userland::tcp {
namespace {

TEST(SeqTest, ComparesAcrossWrap) {
  Seq a(0xfffffff0u), b(0x00000010u);
  EXPECT_TRUE(a < b);
  EXPECT_TRUE(b > a);
  EXPECT_FALSE(b < a);
  EXPECT_EQ(b - a, 0x20);
  EXPECT_EQ(a - b, -0x20);
  EXPECT_TRUE(a + 0x20 == b);
  EXPECT_TRUE(b - 0x20u == a);
}

TEST(SeqTest, EqualIsNotLess) {
  Seq a(5);
  EXPECT_FALSE(a < a);
  EXPECT_TRUE(a <= a);
  EXPECT_TRUE(a >= a);
}

TEST(SeqTest, InWindowAcrossWrap) {
  Seq lo(0xffffff00u);
  Seq hi = lo + 0x200;  // wraps to 0x100
  EXPECT_TRUE(InWindow(Seq(0xffffff00u), lo, hi));
  EXPECT_TRUE(InWindow(Seq(0x0), lo, hi));
  EXPECT_TRUE(InWindow(Seq(0xff), lo, hi));
  EXPECT_FALSE(InWindow(Seq(0x100), lo, hi));   // the end is exclusive
  EXPECT_FALSE(InWindow(Seq(0xfffffeffu), lo, hi));
}

TEST(SeqTest, HalfSpaceBoundary) {
  Seq a(0);
  EXPECT_TRUE(a < Seq(0x7fffffffu));
  EXPECT_TRUE(a > Seq(0x80000001u));  // more than 2^31 ahead reads as behind
}

}  // namespace
}  // namespace tcpmax::userland::tcp

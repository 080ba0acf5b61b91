// PagedArray: indexed like a vector, pages allocated on first use.
#include "core/paged_array.h"

#include <string>

#include <gtest/gtest.h>

namespace tcpmax {
namespace {

TEST(PagedArray, PagesAppearOnFirstUseAndKeepValues) {
  PagedArray<std::string, 4> a(10);  // pages [0,4) [4,8) [8,10)
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(a.Find(0), nullptr);
  EXPECT_EQ(a.Find(9), nullptr);
  a[5] = "five";
  EXPECT_EQ(a.Find(0), nullptr);  // other pages untouched
  ASSERT_NE(a.Find(4), nullptr);  // the page of 5 exists, its other slots default
  EXPECT_EQ(*a.Find(4), "");
  EXPECT_EQ(a[5], "five");
  a[9] = "nine";
  EXPECT_EQ(*a.Find(9), "nine");
  EXPECT_EQ(a.Find(0), nullptr);
  PagedArray<std::string, 4> moved = std::move(a);
  EXPECT_EQ(moved[5], "five");
}

}  // namespace
}  // namespace tcpmax

#include "sys/shard.h"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

TEST(ShardSet, ChildrenReportAndParentSums) {
  auto set = ShardSet::Start(3, [](int index, ShardWriter& out) {
    for (int k = 1; k <= 3; ++k) {
      out.Write({{"type", "progress"}, {"t", 0.5 * k + index}, {"held", 10 * k + index},
                 {"errors", {{"EMFILE", index}}}});
    }
    out.Write({{"type", "done"}, {"held", 30 + index}});
    return index;  // exit code
  });
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  std::vector<int> codes = (*set)->Wait(10000);
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2}));
  auto progress = (*set)->LatestAll("progress");
  ASSERT_EQ(progress.size(), 3u);
  nlohmann::json sum = SumJson(progress);
  EXPECT_EQ(sum["held"].get<int>(), 30 + 31 + 32);
  EXPECT_DOUBLE_EQ(sum["t"].get<double>(), 3.5);  // max, not sum
  EXPECT_EQ(sum["errors"]["EMFILE"].get<int>(), 0 + 1 + 2);
  EXPECT_EQ(sum["type"], "progress");
  EXPECT_EQ((*set)->Latest(1, "done")["held"].get<int>(), 31);
  EXPECT_TRUE((*set)->Latest(1, "nothing").is_null());
  EXPECT_EQ((*set)->malformed_lines(), 0);
}

TEST(ShardSet, MalformedLinesAreCountedNotFatal) {
  auto set = ShardSet::Start(1, [](int, ShardWriter& out) {
    ssize_t n = ::write(STDOUT_FILENO, "", 0);
    (void)n;
    out.Write(nlohmann::json::array({1, 2}));
    out.Write({{"type", "progress"}, {"held", 7}});
    return 0;
  });
  ASSERT_TRUE(set.has_value());
  (*set)->Wait(10000);
  EXPECT_EQ((*set)->malformed_lines(), 1);
  EXPECT_EQ((*set)->Latest(0, "progress")["held"].get<int>(), 7);
}

TEST(ShardSet, SignalStopsChildrenAndWaitReportsIt) {
  auto set = ShardSet::Start(2, [](int, ShardWriter& out) {
    out.Write({{"type", "ready"}});
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(set.has_value());
  // Wait until both said ready, so the signal hits a running job.
  for (int i = 0; i < 100 && (*set)->LatestAll("ready").size() < 2; ++i) (*set)->Poll(100);
  EXPECT_EQ((*set)->LatestAll("ready").size(), 2u);
  (*set)->Signal(SIGTERM);
  std::vector<int> codes = (*set)->Wait(10000);
  EXPECT_EQ(codes, (std::vector<int>{128 + SIGTERM, 128 + SIGTERM}));
}

TEST(SumJson, MixedValues) {
  nlohmann::json a = {{"n", 1}, {"x", 1.5}, {"s", "first"}, {"neg", -2}};
  nlohmann::json b = {{"n", 2}, {"x", 2.0}, {"s", "second"}, {"neg", 1}, {"only_b", 4}};
  nlohmann::json sum = SumJson({a, b});
  EXPECT_EQ(sum["n"].get<int>(), 3);
  EXPECT_DOUBLE_EQ(sum["x"].get<double>(), 3.5);
  EXPECT_EQ(sum["s"], "first");
  EXPECT_EQ(sum["neg"].get<int>(), -1);
  EXPECT_EQ(sum["only_b"].get<int>(), 4);
  EXPECT_TRUE(SumJson({}).empty());
}

}  // namespace
}  // namespace tcpmax::sys

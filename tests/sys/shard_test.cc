#include "sys/shard.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

ShardReport Progress(uint64_t held, double t) {
  ShardReport r;
  r.kind = ShardKind::kProgress;
  r.held = held;
  r.t = t;
  return r;
}

TEST(ShardSet, ChildrenReportAndParentKeepsTheLatestPerKind) {
  auto set = ShardSet::Start(3, [](int index, ShardChannel& ch) {
    for (int k = 1; k <= 3; ++k) ch.Send(Progress(10 * k + index, 0.5 * k));
    ShardReport final_report = Progress(30 + index, 2);
    final_report.kind = ShardKind::kFinal;
    final_report.errors = {{EMFILE, static_cast<uint64_t>(index)}};
    ch.Send(final_report);
    return index;  // exit code
  });
  ASSERT_TRUE(set.has_value()) << set.error().ToString();
  std::vector<int> codes = (*set)->Wait(10000);
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2}));
  auto progress = (*set)->LatestAll(ShardKind::kProgress);
  ASSERT_EQ(progress.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*set)->Latest(i, ShardKind::kProgress)->held, 30u + i);
  ASSERT_NE((*set)->Latest(2, ShardKind::kFinal), nullptr);
  EXPECT_EQ((*set)->Latest(2, ShardKind::kFinal)->errors, (std::vector<std::pair<int, uint64_t>>{{EMFILE, 2}}));
  EXPECT_EQ((*set)->Latest(1, ShardKind::kReady), nullptr);
  EXPECT_EQ((*set)->malformed_lines(), 0);
}

TEST(ShardSet, CommandsReachEveryChild) {
  auto set = ShardSet::Start(2, [](int, ShardChannel& ch) {
    ShardReport ready;
    ready.kind = ShardKind::kReady;
    ch.Send(ready);
    while (!ch.stop_opening().load()) ::usleep(1000);
    ShardReport r = Progress(1, 1);
    r.opening_stopped = true;
    ch.Send(r);
    while (!ch.stop().load()) ::usleep(1000);
    ShardReport f = Progress(0, 2);
    f.kind = ShardKind::kFinal;
    ch.Send(f);
    return 0;
  });
  ASSERT_TRUE(set.has_value());
  for (int i = 0; i < 100 && (*set)->LatestAll(ShardKind::kReady).size() < 2; ++i) (*set)->Poll(100);
  ASSERT_EQ((*set)->LatestAll(ShardKind::kReady).size(), 2u);
  EXPECT_TRUE((*set)->LatestAll(ShardKind::kProgress).empty()) << "no child may move before the command";
  (*set)->Command(ShardCommand::kStopOpening);
  for (int i = 0; i < 100 && (*set)->LatestAll(ShardKind::kProgress).size() < 2; ++i) (*set)->Poll(100);
  for (const ShardReport& r : (*set)->LatestAll(ShardKind::kProgress)) EXPECT_TRUE(r.opening_stopped);
  EXPECT_TRUE((*set)->LatestAll(ShardKind::kFinal).empty()) << "kStopOpening must not stop the children";
  (*set)->Command(ShardCommand::kStop);
  EXPECT_EQ((*set)->Wait(10000), (std::vector<int>{0, 0}));
  EXPECT_EQ((*set)->LatestAll(ShardKind::kFinal).size(), 2u);
}

TEST(ShardSet, ReportRequestsAreAnsweredByEveryChild) {
  auto set = ShardSet::Start(3, [](int index, ShardChannel& ch) {
    uint64_t answered = 0;
    while (!ch.stop().load()) {
      uint64_t want = ch.report_requests().load();
      if (want != answered) {
        ShardReport r = Progress(100 + index, 1);
        r.answers = answered = want;
        ch.Send(r);
      }
      ::usleep(1000);
    }
    return 0;
  });
  ASSERT_TRUE(set.has_value());
  uint64_t first = (*set)->RequestReports();
  for (int i = 0; i < 200 && !(*set)->Answered(first); ++i) (*set)->Poll(50);
  EXPECT_TRUE((*set)->Answered(first));
  uint64_t second = (*set)->RequestReports();
  EXPECT_FALSE((*set)->Answered(second)) << "an answer cannot come before the request is read";
  for (int i = 0; i < 200 && !(*set)->Answered(second); ++i) (*set)->Poll(50);
  EXPECT_TRUE((*set)->Answered(second));
  EXPECT_EQ((*set)->Latest(2, ShardKind::kProgress)->answers, second);
  (*set)->Command(ShardCommand::kStop);
  EXPECT_EQ((*set)->Wait(10000), (std::vector<int>{0, 0, 0}));
}

TEST(ShardSet, SignalStopsChildrenAndWaitReportsIt) {
  auto set = ShardSet::Start(2, [](int, ShardChannel& ch) {
    ShardReport ready;
    ready.kind = ShardKind::kReady;
    ch.Send(ready);
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(set.has_value());
  // Wait until both said ready, so the signal hits a running job.
  for (int i = 0; i < 100 && (*set)->LatestAll(ShardKind::kReady).size() < 2; ++i) (*set)->Poll(100);
  EXPECT_EQ((*set)->LatestAll(ShardKind::kReady).size(), 2u);
  (*set)->Signal(SIGTERM);
  std::vector<int> codes = (*set)->Wait(10000);
  EXPECT_EQ(codes, (std::vector<int>{128 + SIGTERM, 128 + SIGTERM}));
}

TEST(ShardSet, ShardOptionsSetTheChildsNiceValue) {
  auto set = ShardSet::Start(1, [](int, ShardChannel&) {
    errno = 0;
    return ::getpriority(PRIO_PROCESS, 0);
  }, ShardOptions{17, false});
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ((*set)->Wait(10000), (std::vector<int>{17}));
}

TEST(ShardSet, ChildrenInheritNoDescriptorButStdioAndTheirPipes) {
  int spare[2];
  ASSERT_EQ(::pipe(spare), 0);  // a descriptor the supervisor holds
  auto set = ShardSet::Start(1, [&](int, ShardChannel&) {
    return ::fcntl(spare[0], F_GETFD) == -1 && errno == EBADF ? 0 : 1;
  });
  ASSERT_TRUE(set.has_value());
  EXPECT_EQ((*set)->Wait(10000), (std::vector<int>{0})) << "the child still holds the supervisor's pipe";
  ::close(spare[0]);
  ::close(spare[1]);
}

}  // namespace
}  // namespace tcpmax::sys

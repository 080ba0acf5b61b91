// diag::CountWith: the retry and fallback rules around a netlink source —
// interrupted dumps (NLM_F_DUMP_INTR) and overruns (ENOBUFS) are run again at
// most kMaxAttempts times; a refused netlink falls back to /proc unless the
// query insists on netlink.
#include <gtest/gtest.h>

#include "diag/count.h"
#include "synth.h"

namespace tcpmax::diag {
namespace {

// One attempt's answer: `n` established sockets, flagged interrupted or not.
std::unique_ptr<DumpSource> Answer(int n, bool interrupted) {
  auto s = std::make_unique<Scripted>();
  s->datagrams.resize(1);
  uint16_t flag = interrupted ? NLM_F_DUMP_INTR : 0;
  for (int i = 0; i < n; ++i) AppendSock(s->datagrams[0], kEstablished, 7000, flag);
  AppendDone(s->datagrams[0], flag);
  return s;
}

TEST(CountRetry, InterruptedDumpsAreRunAgain) {
  int opened = 0;
  auto c = CountWith(Query{}, [&]() -> Result<std::unique_ptr<DumpSource>> {
    ++opened;
    return Answer(10 + opened, opened < 3);  // clean on the third attempt
  });
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(opened, 3);
  EXPECT_EQ(c->attempts, 3);
  EXPECT_FALSE(c->interrupted);
  EXPECT_EQ(c->total, 13u);  // only the clean attempt counts
}

TEST(CountRetry, AlwaysInterruptedIsReportedAfterTheLastAttempt) {
  int opened = 0;
  auto c = CountWith(Query{}, [&]() -> Result<std::unique_ptr<DumpSource>> {
    ++opened;
    return Answer(5, true);
  });
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(opened, kMaxAttempts);
  EXPECT_TRUE(c->interrupted);
  EXPECT_EQ(c->total, 5u);
}

TEST(CountRetry, EnobufsIsRetriedOtherErrorsAreNot) {
  int opened = 0;
  auto c = CountWith(Query{}, [&]() -> Result<std::unique_ptr<DumpSource>> {
    if (++opened == 1) {
      auto s = std::make_unique<Scripted>();
      s->error_at = 0;
      s->error_code = ENOBUFS;
      return std::unique_ptr<DumpSource>(std::move(s));
    }
    return Answer(7, false);
  });
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->attempts, 2);
  EXPECT_EQ(c->total, 7u);

  opened = 0;
  auto e = CountWith(Query{}, [&]() -> Result<std::unique_ptr<DumpSource>> {
    ++opened;
    auto s = std::make_unique<Scripted>();
    s->error_at = 0;
    s->error_code = EIO;
    return std::unique_ptr<DumpSource>(std::move(s));
  });
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, EIO);
  EXPECT_EQ(opened, 1);
}

TEST(CountRetry, RefusedNetlinkFallsBackToProc) {
  auto refuse = []() -> Result<std::unique_ptr<DumpSource>> {
    return ErrnoError(EACCES, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
  };
  auto c = CountWith(Query{}, refuse);
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->source, SourceKind::kProc);
  EXPECT_NE(c->fallback_reason.find("EACCES"), std::string::npos) << c->fallback_reason;

  Query strict;
  strict.source = SourceKind::kNetlink;
  auto e = CountWith(strict, refuse);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, EACCES);

  auto other = CountWith(Query{}, []() -> Result<std::unique_ptr<DumpSource>> { return ErrnoError(EMFILE, "socket"); });
  ASSERT_FALSE(other.has_value());  // out of fds is not a refusal: no silent fallback
  EXPECT_EQ(other.error().code, EMFILE);
}

}  // namespace
}  // namespace tcpmax::diag

// The verification verdict: both ends counted by the kernel against what the
// shards hold, within 0.1%, with every mismatch named.
#include "probe/verify.h"

#include <gtest/gtest.h>

namespace tcpmax::probe {
namespace {

Verification Counts(uint64_t server, uint64_t client, uint64_t serve_held, uint64_t load_held) {
  Verification v;
  v.server_counted = server;
  v.client_counted = client;
  v.serve_held = serve_held;
  v.load_held = load_held;
  return Judge(v);
}

TEST(Judge, EqualCountsPass) {
  Verification v = Counts(2'535'272, 2'535'272, 2'535'272, 2'535'272);
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.problem.empty());
}

TEST(Judge, WithinATenthOfAPercentPasses) {
  EXPECT_TRUE(Counts(1'000'000, 1'000'000, 999'000, 1'000'000).ok);
  EXPECT_FALSE(Counts(1'000'000, 1'000'000, 998'999, 1'000'000).ok);
}

TEST(Judge, TheWave1MismatchFailsAndIsNamed) {
  // probe --max held 2,535,272 by the shards' count; the kernel saw 247,631 server ends.
  Verification v = Counts(247'631, 2'535'272, 2'535'272, 2'535'272);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("half-open"), std::string::npos) << v.problem;
  EXPECT_NE(v.problem.find("2,287,641 connections exist on the client side only"), std::string::npos) << v.problem;
}

TEST(Judge, ServerEndsNotAcceptedAreTheAcceptQueue) {
  Verification v = Counts(100'000, 100'000, 97'000, 100'000);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("accept queue"), std::string::npos) << v.problem;
  EXPECT_NE(v.problem.find("3,000 connections wait"), std::string::npos) << v.problem;
}

TEST(Judge, ServerSideDisagreementIsNamed) {
  Verification v = Counts(1000, 1000, 2000, 1000);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("server side"), std::string::npos) << v.problem;
}

TEST(Judge, ClientSideDisagreementIsNamed) {
  Verification v = Counts(1000, 1000, 1000, 2000);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("client side"), std::string::npos) << v.problem;
}

TEST(Judge, AnInterruptedDumpIsNeverTrusted) {
  Verification v;
  v.server_counted = v.client_counted = v.serve_held = v.load_held = 10;
  v.interrupted = true;
  v = Judge(v);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("NLM_F_DUMP_INTR"), std::string::npos);
}

TEST(Judge, AFailedCountIsAFailureNotAZero) {
  Verification v;
  v.serve_held = v.load_held = 10;
  v.count_error = "socket NETLINK_SOCK_DIAG: EPERM";
  v = Judge(v);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("EPERM"), std::string::npos);
}

}  // namespace
}  // namespace tcpmax::probe

// The measured binding limit carries the finding id `tcpmax limits` uses.
#include "probe/verdict.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax::probe {
namespace {

limits::ErrorCounts Errors(std::initializer_list<std::pair<int, uint64_t>> list) {
  limits::ErrorCounts e;
  for (auto [code, n] : list) e.Add(code, n);
  return e;
}

TEST(Decide, TargetReachedBindsNothing) {
  Verdict v = Decide(StopReason::kTarget, Errors({{EMFILE, 3}}));
  EXPECT_TRUE(v.binding_id.empty());
  EXPECT_EQ(v.binding_limit, "none: the target was reached");
}

TEST(Decide, MemoryReserveIsTheMemoryFinding) {
  Verdict v = Decide(StopReason::kMemoryReserve, {});
  EXPECT_EQ(v.binding_id, "memory");
  EXPECT_FALSE(v.remedy.empty());
}

TEST(Decide, TheMostFrequentErrnoNamesTheLimit) {
  EXPECT_EQ(Decide(StopReason::kLimit, Errors({{EMFILE, 10}, {ETIMEDOUT, 2}})).binding_id, "rlimit_nofile_hard");
  EXPECT_EQ(Decide(StopReason::kLimit, Errors({{ENFILE, 10}})).binding_id, "fs.file-max");
  EXPECT_EQ(Decide(StopReason::kStalled, Errors({{EADDRNOTAVAIL, 10}, {EMFILE, 1}})).binding_id,
            "net.ipv4.ip_local_port_range");
  EXPECT_EQ(Decide(StopReason::kLimit, Errors({{ENOMEM, 4}})).binding_id, "memory");
  EXPECT_EQ(Decide(StopReason::kLimit, Errors({{ECONNREFUSED, 4}})).binding_id, "net.core.somaxconn");
  Verdict v = Decide(StopReason::kLimit, Errors({{EMFILE, 1}}));
  EXPECT_FALSE(v.remedy.empty());
}

TEST(Decide, NoErrorsNoGuess) {
  Verdict v = Decide(StopReason::kTimeout, Errors({{EMFILE, 1}}));
  EXPECT_TRUE(v.binding_id.empty());
  EXPECT_EQ(v.binding_limit, "unknown (timeout)");
}

}  // namespace
}  // namespace tcpmax::probe

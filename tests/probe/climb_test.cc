// The climb's stop rules, one test per rule, without processes.
#include "probe/climb.h"

#include <gtest/gtest.h>

namespace tcpmax::probe {
namespace {

constexpr uint64_t kG = 1ull << 30;

ClimbRules Rules() {
  ClimbRules r;
  r.target = 1000;
  r.reserve_bytes = 1 * kG;
  r.timeout_seconds = 60;
  return r;
}

Observation At(double t, uint64_t held) {
  Observation o;
  o.t = t;
  o.held = held;
  o.usable_bytes = 10 * kG;
  return o;
}

TEST(CheckStop, KeepsClimbingWhileHeldGrows) {
  ClimbState st;
  for (int i = 1; i < 10; ++i) EXPECT_FALSE(CheckStop(Rules(), st, At(i, 100u * i)).has_value()) << i;
  EXPECT_EQ(st.best_held, 900u);
  EXPECT_DOUBLE_EQ(st.last_progress_t, 9);
}

TEST(CheckStop, TargetReached) {
  ClimbState st;
  auto d = CheckStop(Rules(), st, At(1, 1000));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kTarget);
  EXPECT_EQ(StopReasonName(d->reason), "target reached");
}

TEST(CheckStop, MemoryReserveComesBeforeEverythingButTheTarget) {
  ClimbState st;
  Observation o = At(1, 500);
  o.usable_bytes = kG - 1;
  o.connect_errors = true;
  auto d = CheckStop(Rules(), st, o);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kMemoryReserve);
  EXPECT_NE(d->detail.find("under the reserve of 1.00 GiB"), std::string::npos) << d->detail;
}

TEST(CheckStop, MemoryPressureStopsAtTheLimitEvenAboveTheReserve) {
  ClimbRules rules = Rules();
  rules.max_pressure = 40;
  ClimbState st;
  Observation o = At(1, 500);
  o.memory_pressure = 39.9;
  EXPECT_FALSE(CheckStop(rules, st, o));
  o.memory_pressure = 40;
  auto d = CheckStop(rules, st, o);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kMemoryReserve);
  EXPECT_NE(d->detail.find("stalls on memory"), std::string::npos) << d->detail;
}

TEST(CheckStop, LimitWhenNoProgressWhileConnectsFail) {
  ClimbState st;
  EXPECT_FALSE(CheckStop(Rules(), st, At(1, 500)));
  Observation o = At(10.5, 500);
  o.connect_errors = true;
  EXPECT_FALSE(CheckStop(Rules(), st, o)) << "9.5 s without progress is not yet a limit";
  o.t = 11;
  auto d = CheckStop(Rules(), st, o);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kLimit);
}

TEST(CheckStop, StalledWithoutErrorsAfterTheIdleTime) {
  ClimbState st;
  EXPECT_FALSE(CheckStop(Rules(), st, At(1, 500)));
  EXPECT_FALSE(CheckStop(Rules(), st, At(20.5, 500)));
  auto d = CheckStop(Rules(), st, At(21, 500));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kStalled);
}

TEST(CheckStop, StalledSoonerOnceEveryAttemptWasAnswered) {
  ClimbState st;
  EXPECT_FALSE(CheckStop(Rules(), st, At(1, 500)));
  Observation o = At(6, 500);
  o.attempts_done = true;
  auto d = CheckStop(Rules(), st, o);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kStalled);
}

TEST(CheckStop, TimeoutEvenWhileProgressing) {
  ClimbState st;
  auto d = CheckStop(Rules(), st, At(60, 999));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kTimeout);
}

TEST(CheckStop, InterruptedWinsOverEverything) {
  ClimbState st;
  Observation o = At(1, 1000);
  o.interrupted = true;
  auto d = CheckStop(Rules(), st, o);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, StopReason::kInterrupted);
}

}  // namespace
}  // namespace tcpmax::probe

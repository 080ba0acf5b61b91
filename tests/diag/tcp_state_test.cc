#include "diag/tcp_state.h"

#include <gtest/gtest.h>

namespace tcpmax::diag {
namespace {

TEST(TcpState, ParsesNamesAndSpellings) {
  EXPECT_EQ(*ParseStates("established"), StateBit(kEstablished));
  EXPECT_EQ(*ParseStates("established,time-wait"), kClassicStates);
  EXPECT_EQ(*ParseStates("ESTABLISHED,TIME_WAIT"), kClassicStates);
  EXPECT_EQ(*ParseStates("listening"), StateBit(kListen));
  EXPECT_EQ(*ParseStates("listen"), StateBit(kListen));
  EXPECT_EQ(*ParseStates("syn-recv"), StateBit(kSynRecv) | StateBit(kNewSynRecv));
  EXPECT_EQ(*ParseStates("all"), kAllStates);
  uint32_t connected = *ParseStates("connected");
  EXPECT_FALSE(connected & StateBit(kListen));
  EXPECT_TRUE(connected & StateBit(kTimeWait));
  EXPECT_FALSE(*ParseStates("synchronized") & StateBit(kSynSent));
}

TEST(TcpState, RejectsUnknownAndEmpty) {
  auto r = ParseStates("established,bogus");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find("unknown state 'bogus'"), std::string::npos);
  EXPECT_FALSE(ParseStates("").has_value());
  EXPECT_FALSE(ParseStates("established,").has_value());
}

TEST(TcpState, NamesRoundTrip) {
  for (int s = 1; s < kMaxTcpState; ++s) EXPECT_EQ(*ParseStates(TcpStateName(s)), s == kSynRecv ? (StateBit(s) | StateBit(kNewSynRecv)) : StateBit(s));
  EXPECT_EQ(TcpStateName(99), "unknown");
  EXPECT_EQ(StatesToString(kAllStates), "all");
  EXPECT_EQ(StatesToString(kClassicStates), "established,time-wait");
}

}  // namespace
}  // namespace tcpmax::diag

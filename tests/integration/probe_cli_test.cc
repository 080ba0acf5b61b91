// tcpmax probe's flag validation: one line naming the flag, exit 2, nothing started.
#include <algorithm>

#include <gtest/gtest.h>

#include "harness.h"

namespace tcpmax::testing {
namespace {

void ExpectUsage(const std::vector<std::string>& args, const std::string& names) {
  RunResult r = RunTcpmax(args, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(names), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find("probe: starting"), std::string::npos) << "nothing may start on bad input";
}

TEST(ProbeCli, BadFlagsAreOneLineUsageErrors) {
  ExpectUsage({"probe", "--target", "abc"}, "--target: 'abc'");
  ExpectUsage({"probe", "--target", "0"}, "--target: must be at least 1");
  ExpectUsage({"probe", "--engine", "select"}, "--engine: 'select'");
  ExpectUsage({"probe", "--reserve", "150%"}, "--reserve");
  ExpectUsage({"probe", "--rate", "fast"}, "--rate: 'fast'");
  ExpectUsage({"probe", "--interval", "10ms"}, "--interval");
  ExpectUsage({"probe", "--first-port", "65500"}, "--first-port");
  ExpectUsage({"probe", "--html", "/nonexistent-dir/r.html"}, "--html: cannot write '/nonexistent-dir/r.html'");
  ExpectUsage({"probe", "--bogus"}, "--bogus");
}

TEST(ProbeCli, ATargetThisBoxCannotHostIsRefusedBeforeAnythingStarts) {
  // 20M at 19,900 descriptors a process would fork about 1,000 serve shards.
  ExpectUsage({"probe", "--target", "20M", "--engine", "epoll"}, "processes per side");
  // 5M is plannable, but 24 GiB at ~8 KB per connection holds about 2.8M.
  ExpectUsage({"probe", "--target", "5M"}, "--target 5,000,000: this box holds about");
  ExpectUsage({"probe", "--reserve", "100%"}, "--reserve");
}

TEST(ProbeCli, HelpExplainsAndExitsZero) {
  RunResult r = RunTcpmax({"probe", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--target", "--max", "--tune", "--reserve", "--json", "--html", "--engine"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace tcpmax::testing

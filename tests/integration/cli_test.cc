// The tcpmax binary's command table: help, version, unknown commands.
#include <gtest/gtest.h>

#include "harness.h"

namespace tcpmax::testing {
namespace {

TEST(Cli, HelpListsCommandsAndExitsZero) {
  RunResult r = RunTcpmax({"help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: tcpmax <command>"), std::string::npos);
}

TEST(Cli, NoArgumentsIsUsageError) {
  RunResult r = RunTcpmax({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage"), std::string::npos);
}

TEST(Cli, UnknownCommandIsOneLineUsageError) {
  RunResult r = RunTcpmax({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

TEST(Cli, VersionPrints) {
  RunResult r = RunTcpmax({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("tcpmax "), std::string::npos);
}

}  // namespace
}  // namespace tcpmax::testing

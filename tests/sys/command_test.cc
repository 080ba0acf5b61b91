#include "sys/command.h"

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

TEST(Command, RunCommandReportsOutputAndFailure) {
  auto ok = RunCommand({"sh", "-c", "echo hi"});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "hi\n");
  auto bad = RunCommand({"sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().context.find("oops"), std::string::npos);
  auto missing = RunCommand({"/nonexistent/tcpmax-no-such-binary"});
  EXPECT_FALSE(missing.has_value());
}

TEST(Command, HelperRunsInItsOwnProcessGroup) {
  // A Ctrl-C for tcpmax must not kill a cleanup step half-way.
  auto out = RunCommand({"sh", "-c", "ps -o pgid= -p $$"});
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_NE(std::stol(*out), long(getpgrp()));
}

}  // namespace
}  // namespace tcpmax::sys

// Output that cannot be written never aborts a run or its cleanup: a reader
// that goes away (`| true`, `| head -1`) ends the command with an exit code,
// never SIGABRT; and an exception escaping a command is caught in main.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "harness.h"

namespace tcpmax::testing {
namespace {

// Runs `command` with its stderr (and, if `both`, stdout) into a pipe whose
// reader exits at once; returns the command's exit status as the shell saw it
// (128 + signal when killed).
int StatusWithClosedPipe(const std::string& args, const std::string& redirect) {
  std::string rc_file = std::string(TCPMAX_BUILD_DIR) + "/exit-paths-rc.txt";
  std::remove(rc_file.c_str());
  std::string cmd = std::string(TCPMAX_BINARY) + " " + args + " " + redirect + " | true; echo ${PIPESTATUS[0]} > " +
                    rc_file;
  RunShell("exec bash -c '" + cmd + "'", 60);
  std::ifstream f(rc_file);
  int rc = -1;
  f >> rc;
  return rc;
}

TEST(ExitPaths, LoadWithStderrIntoAClosedPipeDoesNotAbort) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  int rc = StatusWithClosedPipe("load " + target + " -n 1 --hold 3s --interval 200ms --engine epoll",
                                "2>&1 >/dev/null");
  ASSERT_GE(rc, 0) << "no exit status recorded";
  EXPECT_NE(rc, 134) << "SIGABRT: an output error aborted the run";
  EXPECT_LT(rc, 128) << "killed by signal " << rc - 128;
}

TEST(ExitPaths, LoadWithStdoutAndStderrIntoAClosedPipeDoesNotAbort) {
  std::string target = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  int rc = StatusWithClosedPipe("load " + target + " -n 1 --hold 2s --interval 200ms --engine epoll", "2>&1");
  ASSERT_GE(rc, 0) << "no exit status recorded";
  EXPECT_LT(rc, 128) << "killed by signal " << rc - 128;
}


TEST(ExitPaths, LoadProgressJsonIntoAClosedPipeDoesNotAbort) {
  // The JSON progress lines are printed from the sampling loop while worker
  // threads run: an exception there would end in std::terminate.
  std::string target = "127.0.0.1:" + std::to_string(UnusedLoopbackPort());
  int rc = StatusWithClosedPipe("load " + target + " -n 1 --hold 2s --interval 200ms --engine epoll --progress-json",
                                "2>&1 >/dev/null");
  ASSERT_GE(rc, 0) << "no exit status recorded";
  EXPECT_EQ(rc, 0) << "a closed stderr must not change how the run ends";
}

}  // namespace
}  // namespace tcpmax::testing

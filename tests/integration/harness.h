// Helpers for integration tests: run the tcpmax binary, capture its output,
// check privileges, and make or remove network namespaces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcpmax::testing {

struct RunResult {
  int exit_code = -1;     // -1 when killed by a signal
  std::string out;        // stdout
  std::string err;        // stderr
};

// Runs TCPMAX_BINARY with `args` and waits for it (at most `timeout_s` seconds,
// then SIGKILL). Captures stdout and stderr.
RunResult RunTcpmax(const std::vector<std::string>& args, int timeout_s = 120);
// Runs /bin/sh -c `command` the same way.
RunResult RunShell(const std::string& command, int timeout_s = 120);

// A loopback port the kernel just handed out and that nothing listens on now
// (bound to 127.0.0.1:0, read back, closed): for a closed port, or a free one
// to start a server on.
uint16_t UnusedLoopbackPort();

// True when this process is root with CAP_NET_ADMIN in its effective set.
bool HaveNetAdmin();

// Tests that need CAP_NET_ADMIN start with this: it skips loudly otherwise.
#define TCPMAX_REQUIRE_NET_ADMIN()                                                   \
  do {                                                                               \
    if (!::tcpmax::testing::HaveNetAdmin())                                          \
      GTEST_SKIP() << "SKIPPED (privileged): needs root with CAP_NET_ADMIN";         \
  } while (0)

}  // namespace tcpmax::testing

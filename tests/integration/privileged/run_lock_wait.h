// Privileged tests that change the system share the box with any other
// tcpmax run (another engineer's tests or benchmarks): those hold the run
// lock (/run/tcpmax/lock, sys/run_lock.h), and a test started meanwhile would
// be refused, correctly, and fail. WaitForRunLock() waits until no run holds
// it (taking and releasing it exclusively), so the test starts on a quiet box.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "sys/run_journal.h"

namespace tcpmax::testing {

// True when the lock was free within `timeout_s` (or does not exist yet, or
// this test process holds it already through its own run journal).
inline bool WaitForRunLock(int timeout_s = 600) {
  if (::tcpmax::sys::CurrentRunJournal() != nullptr) return true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    int fd = ::open("/run/tcpmax/lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return true;
    bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    ::close(fd);  // releases it
    if (free) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace tcpmax::testing

// RunLock: one tcpmax run at a time may change the system.
//
// flock(2) on DIR/lock (DIR = /run/tcpmax). A run that changes host-wide
// settings (`probe --tune`) takes it exclusive; runs whose changes live in a
// namespace of their own (`userland serve`, `userland load`, which work in
// pairs) take it shared, so they exclude `probe --tune` but not each other.
// The kernel drops the lock when the holder dies, however it dies, so a
// SIGKILLed run never blocks the next. The exclusive holder writes
// "<pid> <command>" into the file so that a refused run can name it.
// Thread-safety: a RunLock belongs to one thread; move-only.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::sys {

enum class LockMode { kExclusive, kShared };

class RunLock {
 public:
  RunLock() = default;
  // Takes the lock without waiting. When another run holds it, fails with
  // EBUSY (context: "the run lock DIR/lock is held").
  static Result<RunLock> Acquire(int dirfd, const std::string& dir, LockMode mode, const std::string& command);
  // Exclusive -> shared (not atomic in flock(2): may fail with EBUSY if an
  // exclusive run slips in between).
  Result<void> Downgrade();

  bool held() const { return fd_.valid(); }
  LockMode mode() const { return mode_; }

 private:
  RunLock(Fd fd, LockMode mode) : fd_(std::move(fd)), mode_(mode) {}
  Fd fd_;
  LockMode mode_ = LockMode::kShared;
};

// The "<pid> <command>" the exclusive holder wrote, when that pid still runs.
std::string ExclusiveHolder(int dirfd);

}  // namespace tcpmax::sys

#include "sys/run_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace tcpmax::sys {

Result<RunLock> RunLock::Acquire(int dirfd, const std::string& dir, LockMode mode, const std::string& command) {
  int fd = ::openat(dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("open " + dir + "/lock");
  Fd lock(fd);
  int op = (mode == LockMode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  while (::flock(lock.get(), op) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return ErrnoError(EBUSY, "the run lock " + dir + "/lock is held");
    return ErrnoError("flock " + dir + "/lock");
  }
  if (mode == LockMode::kExclusive) {
    std::string text = fmt::format("{} {}\n", ::getpid(), command);
    if (::ftruncate(lock.get(), 0) != 0 || ::pwrite(lock.get(), text.data(), text.size(), 0) < 0) {
      return ErrnoError("write " + dir + "/lock");
    }
  }
  return RunLock(std::move(lock), mode);
}

Result<void> RunLock::Downgrade() {
  if (!held() || mode_ == LockMode::kShared) return {};
  (void)::ftruncate(fd_.get(), 0);  // no exclusive holder to name any more
  while (::flock(fd_.get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    fd_.Reset();
    return ErrnoError(e == EWOULDBLOCK ? EBUSY : e, "re-taking the run lock shared");
  }
  mode_ = LockMode::kShared;
  return {};
}

std::string ExclusiveHolder(int dirfd) {
  Fd fd(::openat(dirfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return {};
  char buf[512];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string text(buf, size_t(n));
  if (auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || pid <= 0) return {};
  if (::kill(pid, 0) != 0 && errno == ESRCH) return {};
  return text;
}

}  // namespace tcpmax::sys

#include <malloc.h>
#include "sys/process.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "sys/reader.h"

namespace tcpmax::sys {

Result<uint64_t> ResidentBytes() {
  auto text = ReadWholeFile("/proc/self/statm");
  if (!text) return tl::unexpected(text.error());
  auto numbers = ParseNumbers(Trim(*text));
  if (!numbers || numbers->size() < 2) return PlainError("/proc/self/statm: unexpected format");
  return (*numbers)[1] * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Result<uint64_t> AnonResidentBytes() {
  auto text = ReadWholeFile("/proc/self/status");
  if (!text) return tl::unexpected(text.error());
  size_t at = text->find("RssAnon:");
  if (at == std::string::npos) return PlainError("/proc/self/status: no RssAnon line");
  size_t begin = text->find_first_of("0123456789", at);
  uint64_t kb = 0;
  auto [end, ec] = std::from_chars(text->data() + begin, text->data() + text->size(), kb);
  if (begin == std::string::npos || ec != std::errc()) return PlainError("/proc/self/status: bad RssAnon");
  return kb * 1024;
}

Result<uint64_t> SoftNofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return ErrnoError("getrlimit RLIMIT_NOFILE");
  return static_cast<uint64_t>(rl.rlim_cur);
}

Result<void> SetNice(int nice) {
  if (::setpriority(PRIO_PROCESS, 0, nice) != 0) return ErrnoError("setpriority " + std::to_string(nice));
  return {};
}

Result<RealtimeScope> RealtimeScope::Enter(int priority) {
  sched_param sp{};
  sp.sched_priority = priority;
  if (::sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0) {
    return ErrnoError("sched_setscheduler SCHED_FIFO " + std::to_string(priority));
  }
  RealtimeScope s;
  s.active_ = true;
  return s;
}

RealtimeScope::~RealtimeScope() {
  if (!active_) return;
  sched_param sp{};
  ::sched_setscheduler(0, SCHED_OTHER, &sp);
}

Result<void> LockMemory() {
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) return ErrnoError("mlockall");
  return {};
}

Result<void> PreferOomKill() {
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open /proc/self/oom_score_adj");
  ssize_t n = ::write(fd, "1000", 4);
  int err = errno;
  ::close(fd);
  if (n != 4) return ErrnoError(err, "write /proc/self/oom_score_adj");
  return {};
}

BlockStopSignals::BlockStopSignals() {
  sigset_t block;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&block, sig);
  pthread_sigmask(SIG_BLOCK, &block, &old_);
}

BlockStopSignals::~BlockStopSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

void TrimHeap() { malloc_trim(0); }

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

}  // namespace tcpmax::sys

#include "sys/shard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>

#include "core/clock.h"
#include "sys/process.h"

namespace tcpmax::sys {

struct ShardChannel::Reader {
  std::thread thread;
};

ShardChannel::ShardChannel(int report_fd, int command_fd)
    : report_fd_(report_fd), command_fd_(command_fd), reader_(std::make_unique<Reader>()) {
  reader_->thread = std::thread([this] { ReadCommands(); });
  reader_->thread.detach();  // blocks in read(); the child ends with _exit
}

ShardChannel::~ShardChannel() = default;

void ShardChannel::ReadCommands() {
  char buf[64];
  for (;;) {
    ssize_t n = ::read(command_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the supervisor is gone: stop
    for (ssize_t i = 0; i < n; ++i) {
      auto c = DecodeCommand(buf[i]);
      if (!c) continue;
      if (*c == ShardCommand::kReport) {
        report_requests_.fetch_add(1);
        continue;
      }
      if (*c == ShardCommand::kSlower || *c == ShardCommand::kFaster) {
        int p = pace_.load() + (*c == ShardCommand::kSlower ? -2 : 1);
        pace_ = std::clamp(p, -kMaxPace, kMaxPace);
        continue;
      }
      stop_opening_ = true;
      if (*c == ShardCommand::kStop) stop_ = true;
    }
    if (stop_) return;
  }
  stop_opening_ = true;
  stop_ = true;
}

bool ShardChannel::Send(const ShardReport& report) {
  std::string text = EncodeReport(report);
  text.push_back('\n');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(report_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

namespace {

[[noreturn]] void RunChild(int index, int report_fd, int command_fd, const ShardJob& job, const ShardOptions& o) {
  // Keep stdio and the two pipes; every other inherited descriptor (the
  // supervisor's pipes to other shards, its own files) would eat this shard's
  // RLIMIT_NOFILE budget.
  unsigned lo = static_cast<unsigned>(std::min(report_fd, command_fd));
  unsigned hi = static_cast<unsigned>(std::max(report_fd, command_fd));
  if (lo > 3) ::close_range(3, lo - 1, 0);
  if (hi > lo + 1) ::close_range(lo + 1, hi - 1, 0);
  ::close_range(hi + 1, ~0u, 0);
  if (o.nice) (void)SetNice(*o.nice);
  if (o.prefer_oom_kill) (void)PreferOomKill();
  int code = 1;
  {
    ShardChannel channel(report_fd, command_fd);
    code = job(index, channel);
  }
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

}  // namespace

Result<std::unique_ptr<ShardSet>> ShardSet::Start(int count, const ShardJob& job, const ShardOptions& options) {
  std::unique_ptr<ShardSet> set(new ShardSet());
  // A command to a child that just exited must be an EPIPE, not a SIGPIPE
  // that kills the supervisor before it can clean up.
  struct sigaction old {};
  if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  std::fflush(stdout);
  std::fflush(stderr);
  for (int i = 0; i < count; ++i) {
    int up[2], down[2];
    if (::pipe2(up, O_CLOEXEC) != 0) return ErrnoError("pipe for shard " + std::to_string(i));
    if (::pipe2(down, O_CLOEXEC) != 0) {
      int err = errno;
      ::close(up[0]);
      ::close(up[1]);
      return ErrnoError(err, "pipe for shard " + std::to_string(i));
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      int err = errno;
      for (int fd : {up[0], up[1], down[0], down[1]}) ::close(fd);
      return ErrnoError(err, "fork shard " + std::to_string(i));
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::close(up[0]);
      ::close(down[1]);
      for (const Shard& s : set->shards_) {
        ::close(s.fd);
        ::close(s.command_fd);
      }
      RunChild(i, up[1], down[0], job, options);
    }
    ::close(up[1]);
    ::close(down[0]);
    Shard s;
    s.pid = pid;
    s.fd = up[0];
    s.command_fd = down[1];
    set->shards_.push_back(std::move(s));
  }
  return set;
}

ShardSet::~ShardSet() {
  for (Shard& s : shards_) {
    if (s.fd >= 0) ::close(s.fd);
    if (s.command_fd >= 0) ::close(s.command_fd);
    if (s.exit_code < 0 && s.pid > 0) {
      ::kill(s.pid, SIGKILL);
      ::waitpid(s.pid, nullptr, 0);
    }
  }
}

void ShardSet::TakeLines(Shard& s) {
  size_t start = 0;
  for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto report = DecodeReport(std::string_view(s.partial).substr(start, nl - start));
    if (!report) {
      ++malformed_;
      last_malformed_ = report.error().context;
      continue;
    }
    s.latest[static_cast<int>(report->kind)] = std::move(*report);
  }
  s.partial.erase(0, start);
}

void ShardSet::ReadFrom(Shard& s) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(s.fd);
      s.fd = -1;
      return;
    }
    s.partial.append(buf, static_cast<size_t>(n));
    TakeLines(s);
    if (static_cast<size_t>(n) < sizeof buf) return;
  }
}

int ShardSet::Poll(int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<Shard*> owners;
  for (Shard& s : shards_) {
    if (s.fd < 0) continue;
    fds.push_back({s.fd, POLLIN, 0});
    owners.push_back(&s);
  }
  if (fds.empty()) return 0;
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n > 0) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ReadFrom(*owners[i]);
    }
  }
  int open = 0;
  for (const Shard& s : shards_) open += s.fd >= 0;
  return open;
}

void ShardSet::Command(ShardCommand command) {
  char byte = static_cast<char>(command);
  for (Shard& s : shards_) {
    if (s.command_fd < 0) continue;
    // A full pipe cannot happen (a command is one byte and a child reads
    // them at once); EPIPE means the child is gone, which Wait reports.
    ssize_t n;
    do n = ::write(s.command_fd, &byte, 1);
    while (n < 0 && errno == EINTR);
  }
}

uint64_t ShardSet::RequestReports() {
  Command(ShardCommand::kReport);
  return ++requests_;
}

bool ShardSet::Answered(uint64_t request) const {
  for (int i = 0; i < size(); ++i) {
    if (closed(i)) continue;
    const ShardReport* r = Latest(i, ShardKind::kProgress);
    if (r == nullptr || r->answers < request) return false;
  }
  return true;
}

void ShardSet::Signal(int sig) {
  for (const Shard& s : shards_) {
    if (s.exit_code < 0 && s.pid > 0) ::kill(s.pid, sig);
  }
}

void ShardSet::Reap(bool block) {
  for (Shard& s : shards_) {
    if (s.exit_code >= 0 || s.pid <= 0) continue;
    int status = 0;
    pid_t r = ::waitpid(s.pid, &status, block ? 0 : WNOHANG);
    if (r != s.pid) continue;
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

std::vector<int> ShardSet::Wait(int timeout_ms) {
  uint64_t deadline = MonotonicNanos() + static_cast<uint64_t>(timeout_ms) * 1'000'000ull;
  while (MonotonicNanos() < deadline) {
    int left_ms = static_cast<int>((deadline - MonotonicNanos()) / 1'000'000ull) + 1;
    if (Poll(std::min(left_ms, 100)) == 0) break;
  }
  Signal(SIGKILL);  // only children still running after the deadline
  for (Shard& s : shards_) {
    if (s.fd >= 0) {
      ::close(s.fd);
      s.fd = -1;
    }
    if (s.command_fd >= 0) {
      ::close(s.command_fd);
      s.command_fd = -1;
    }
  }
  Reap(true);
  std::vector<int> codes;
  for (const Shard& s : shards_) codes.push_back(s.exit_code);
  return codes;
}

const ShardReport* ShardSet::Latest(int shard, ShardKind kind) const {
  const auto& r = shards_[shard].latest[static_cast<int>(kind)];
  return r ? &*r : nullptr;
}

std::vector<ShardReport> ShardSet::LatestAll(ShardKind kind) const {
  std::vector<ShardReport> out;
  for (int i = 0; i < size(); ++i) {
    if (const ShardReport* r = Latest(i, kind)) out.push_back(*r);
  }
  return out;
}

}  // namespace tcpmax::sys

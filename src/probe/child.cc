#include "probe/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "core/clock.h"

namespace tcpmax::probe {
namespace {

int StatusOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

Result<Child> Child::Spawn(const std::string& binary, const std::vector<std::string>& args, std::string label) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe for " + label);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return ErrnoError("pipe for " + label);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return ErrnoError(e, "fork " + label);
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // If memory ever runs out despite the reserve, the kernel kills a shard
    // (which ends the climb) rather than some other process on the box.
    int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
      (void)!write(adj, "1000", 4);
      close(adj);
    }
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
  Child c;
  c.pid_ = pid;
  c.reaped_ = false;
  c.label_ = std::move(label);
  c.out_.Reset(out_pipe[0]);
  c.err_.Reset(err_pipe[0]);
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      reaped_(std::exchange(o.reaped_, true)),
      status_(o.status_),
      label_(std::move(o.label_)),
      out_(std::move(o.out_)),
      err_(std::move(o.err_)),
      out_buf_(std::move(o.out_buf_)),
      err_buf_(std::move(o.err_buf_)),
      pending_(std::move(o.pending_)),
      diagnostics_(std::move(o.diagnostics_)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    this->~Child();
    new (this) Child(std::move(o));
  }
  return *this;
}

Child::~Child() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
}

void Child::Drain() {
  char buf[65536];
  for (auto [fd, out] : {std::pair{&out_, &out_buf_}, std::pair{&err_, &err_buf_}}) {
    while (fd->valid()) {
      ssize_t n = read(fd->get(), buf, sizeof buf);
      if (n > 0) {
        out->append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) fd->Reset();  // EOF
      break;                    // EAGAIN or error: nothing more now
    }
  }
  size_t start = 0;
  for (size_t nl; (nl = err_buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(err_buf_.data() + start, nl - start);
    if (!line.empty() && line.front() == '{') {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded()) {
        pending_.push_back(std::move(j));
        continue;
      }
    }
    if (line.empty()) continue;
    if (diagnostics_.size() == 50) diagnostics_.erase(diagnostics_.begin());
    diagnostics_.emplace_back(line);
  }
  err_buf_.erase(0, start);
}

std::vector<nlohmann::json> Child::Poll() {
  Drain();
  return std::exchange(pending_, {});
}

void Child::Signal(int sig) const {
  if (!reaped_ && pid_ > 0) kill(pid_, sig);
}

bool Child::Exited() {
  if (reaped_) return true;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = StatusOf(st);
    Drain();
  }
  return reaped_;
}

int Child::Wait(int timeout_ms) {
  uint64_t deadline = MonotonicNanos() + static_cast<uint64_t>(timeout_ms) * 1'000'000;
  bool killed = false;
  while (!Exited()) {
    Drain();
    if (!killed && MonotonicNanos() > deadline) {
      kill(pid_, SIGKILL);
      killed = true;
    }
    pollfd fds[2] = {{out_.get(), POLLIN, 0}, {err_.get(), POLLIN, 0}};
    if (poll(fds, 2, 20) < 0 && errno != EINTR) usleep(20000);
  }
  Drain();
  return status_;
}

std::optional<nlohmann::json> Child::Summary() const {
  // The summary is the last JSON object on stdout.
  size_t brace = out_buf_.find('{');
  if (brace == std::string::npos) return std::nullopt;
  auto j = nlohmann::json::parse(out_buf_.substr(brace), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace tcpmax::probe

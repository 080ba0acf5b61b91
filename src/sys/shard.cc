#include "sys/shard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "core/clock.h"

namespace tcpmax::sys {

bool ShardWriter::Write(const nlohmann::json& line) {
  std::string text = line.dump();
  text.push_back('\n');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

Result<std::unique_ptr<ShardSet>> ShardSet::Start(int count, const ShardJob& job) {
  std::unique_ptr<ShardSet> set(new ShardSet());
  std::fflush(stdout);
  std::fflush(stderr);
  for (int i = 0; i < count; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe for shard " + std::to_string(i));
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return ErrnoError(err, "fork shard " + std::to_string(i));
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::close(fds[0]);
      for (const Shard& s : set->shards_) ::close(s.fd);
      ShardWriter writer(fds[1]);
      int code = job(i, writer);
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(code);
    }
    ::close(fds[1]);
    Shard s;
    s.pid = pid;
    s.fd = fds[0];
    set->shards_.push_back(std::move(s));
  }
  return set;
}

ShardSet::~ShardSet() {
  for (Shard& s : shards_) {
    if (s.fd >= 0) ::close(s.fd);
    if (s.exit_code < 0 && s.pid > 0) {
      ::kill(s.pid, SIGKILL);
      ::waitpid(s.pid, nullptr, 0);
    }
  }
}

void ShardSet::TakeLines(Shard& s) {
  size_t start = 0;
  for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto line = nlohmann::json::parse(s.partial.begin() + static_cast<std::ptrdiff_t>(start),
                                      s.partial.begin() + static_cast<std::ptrdiff_t>(nl), nullptr, false);
    if (!line.is_object()) {
      ++malformed_;
      continue;
    }
    std::string type = line.value("type", std::string());
    s.latest[type] = std::move(line);
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
  }
  Reap(true);
  std::vector<int> codes;
  for (const Shard& s : shards_) codes.push_back(s.exit_code);
  return codes;
}

const nlohmann::json& ShardSet::Latest(int shard, std::string_view type) const {
  static const nlohmann::json kNull;
  const nlohmann::json& latest = shards_[shard].latest;
  auto it = latest.find(std::string(type));
  return it == latest.end() ? kNull : *it;
}

std::vector<nlohmann::json> ShardSet::LatestAll(std::string_view type) const {
  std::vector<nlohmann::json> out;
  for (int i = 0; i < size(); ++i) {
    const nlohmann::json& j = Latest(i, type);
    if (!j.is_null()) out.push_back(j);
  }
  return out;
}

nlohmann::json SumJson(const std::vector<nlohmann::json>& objects, const std::vector<std::string>& max_keys) {
  nlohmann::json sum = nlohmann::json::object();
  for (const nlohmann::json& obj : objects) {
    if (!obj.is_object()) continue;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string& key = it.key();
      const nlohmann::json& v = it.value();
      auto have = sum.find(key);
      if (have == sum.end()) {
        sum[key] = v.is_object() ? SumJson({v}, max_keys) : v;
      } else if (v.is_number() && have->is_number()) {
        bool is_max = std::find(max_keys.begin(), max_keys.end(), key) != max_keys.end();
        if (v.is_number_float() || have->is_number_float()) {
          double a = have->get<double>(), b = v.get<double>();
          *have = is_max ? std::max(a, b) : a + b;
        } else if (v.is_number_unsigned() && have->is_number_unsigned()) {
          uint64_t a = have->get<uint64_t>(), b = v.get<uint64_t>();
          *have = is_max ? std::max(a, b) : a + b;
        } else {
          int64_t a = have->get<int64_t>(), b = v.get<int64_t>();
          *have = is_max ? std::max(a, b) : a + b;
        }
      } else if (v.is_object() && have->is_object()) {
        *have = SumJson({*have, v}, max_keys);
      }
    }
  }
  return sum;
}

}  // namespace tcpmax::sys

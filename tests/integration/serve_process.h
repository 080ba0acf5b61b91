// Test helpers for `tcpmax serve`: run it in the background with
// --progress-json, wait for its ready line and progress, stop it with a
// signal and read its JSON summary; and hold N client connections from
// forked processes (each under the fd limit) spread over source addresses.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <linux/close_range.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tcpmax::testing {

class ServeProcess {
 public:
  // Starts `tcpmax serve <args> --progress-json --json --interval 100ms` and
  // waits (up to 10 s) for the ready line. ok() tells whether it came.
  explicit ServeProcess(std::vector<std::string> args) {
    args.insert(args.begin(), {TCPMAX_BINARY, "serve"});
    for (const char* a : {"--progress-json", "--json", "--interval", "100ms"}) args.push_back(a);
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    ready_ = NextLine("ready", 10);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  bool ok() const { return !ready_.is_null(); }
  const nlohmann::json& ready() const { return ready_; }
  // The first listen endpoint's port.
  pid_t pid() const { return pid_; }
  uint16_t port() const {
    std::string ep = ready_["listen"][0];
    return static_cast<uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
  }
  const std::string& stderr_text() const { return err_text_; }

  // Reads progress lines until one has held >= n; returns it (null on timeout).
  nlohmann::json WaitHeld(uint64_t n, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      nlohmann::json p = NextLine("progress", timeout_s);
      if (p.is_null()) break;
      if (p["held"].get<uint64_t>() >= n) return p;
    }
    return nullptr;
  }
  // The next progress line.
  nlohmann::json NextProgress(int timeout_s) { return NextLine("progress", timeout_s); }

  // Sends `sig`, waits for exit (10 s), returns the exit code; the summary
  // (stdout JSON) is in summary().
  int Stop(int sig = SIGTERM) {
    kill(pid_, sig);
    std::string out;
    char buf[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 200) > 0) {
        ssize_t n = read(out_, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        break;
      }
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    summary_ = nlohmann::json::parse(out, nullptr, false);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const nlohmann::json& summary() const { return summary_; }

 private:
  // The next stderr JSON line with "type" == type (others skipped).
  nlohmann::json NextLine(const std::string& type, int timeout_s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
      size_t nl;
      while ((nl = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        err_text_ += line + "\n";
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.value("type", "") == type) return j;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return nullptr;
      pollfd p{err_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return nullptr;
      char buf[4096];
      ssize_t n = read(err_, buf, sizeof buf);
      if (n <= 0) return nullptr;
      pending_.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int out_ = -1, err_ = -1;
  std::string pending_, err_text_;
  nlohmann::json ready_, summary_;
};

// Holds `total` connections to 127.0.0.1:port from `procs` forked processes,
// process i binding source address 127.0.<10+i>.1 (IP_BIND_ADDRESS_NO_PORT),
// so no (source, destination) pair comes near the ephemeral range. The
// children hold until Release() (or destruction), then close with RST.
class HeldClients {
 public:
  HeldClients(uint16_t port, int total, int procs) {
    for (int i = 0; i < procs; ++i) {
      int per = total / procs + (i < total % procs ? 1 : 0);
      int up[2], down[2];
      if (pipe(up) != 0 || pipe(down) != 0) return;
      pid_t pid = fork();
      if (pid == 0) {
        // Keep only our two pipe ends: inherited copies of the other
        // children's pipes (or of the server's output) would keep them open.
        dup2(up[1], 1000);
        dup2(down[0], 1001);
        close_range(3, 999, 0);
        close_range(1002, ~0u, 0);
        int opened = Open(port, per, i);
        if (write(1000, &opened, sizeof opened) != sizeof opened) _exit(1);
        char c;
        ssize_t r = read(1001, &c, 1);  // hold until the parent releases
        (void)r;
        _exit(0);  // closes every socket (SO_LINGER 0 was set: RST)
      }
      close(up[1]);
      close(down[0]);
      kids_.push_back({pid, up[0], down[1]});
    }
  }
  ~HeldClients() { Release(); }

  // Waits for every child to finish connecting; returns how many are open.
  int WaitOpened(int timeout_s) {
    int total = 0;
    for (Kid& k : kids_) {
      pollfd p{k.up, POLLIN, 0};
      int got = 0;
      if (poll(&p, 1, timeout_s * 1000) > 0 && read(k.up, &got, sizeof got) == sizeof got) total += got;
    }
    return total;
  }
  void Release() {
    for (Kid& k : kids_) {
      if (k.pid <= 0) continue;
      close(k.down);
      close(k.up);
      waitpid(k.pid, nullptr, 0);
      k.pid = -1;
    }
  }

 private:
  struct Kid {
    pid_t pid;
    int up, down;
  };

  static int Open(uint16_t port, int n, int index) {
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | ((10u + static_cast<unsigned>(index)) << 8) | 1u);
    int opened = 0;
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) break;
      int one = 1;
      setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
          connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
        close(fd);
        continue;
      }
      ++opened;
    }
    return opened;
  }

  std::vector<Kid> kids_;
};

}  // namespace tcpmax::testing

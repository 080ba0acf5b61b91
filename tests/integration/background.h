// Background: a process the test starts and stops, with stdout and stderr
// in files under /tmp (tag names them), killed if the test forgets it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tcpmax::testing {

// A process running in the background with stdout/stderr in files.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::string& tag)
      : out_("/tmp/tcpmax-ul-" + tag + ".out"), err_("/tmp/tcpmax-ul-" + tag + ".err") {
    pid_ = fork();
    if (pid_ == 0) {
      int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Background() {
    if (pid_ > 0) Stop(SIGKILL);
  }
  // Sends `sig`, waits (at most 20 s, then SIGKILL) and returns the exit code.
  int Stop(int sig = SIGINT) {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return exit_code_ = -1;
  }
  pid_t pid() const { return pid_; }
  std::string Out() const { return Slurp(out_); }
  std::string Err() const { return Slurp(err_); }

 private:
  static std::string Slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string out_, err_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace tcpmax::testing

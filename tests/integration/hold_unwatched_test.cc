// --no-watch: serve and load hold idle connections without an epoll item per
// socket (the kernel keeps the socket alone), and by default they do watch.
// Counted from the kernel's side: every "tfd:" line of an epoll descriptor's
// /proc/PID/fdinfo is one watched file.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

constexpr int kConns = 3000;

// Watched files of every process in `pids` (a shell word list).
uint64_t EpollWatches(const std::string& pids) {
  RunResult r = RunShell("for p in " + pids + "; do cat /proc/$p/fdinfo/* 2>/dev/null; done | grep -c '^tfd:' || true");
  return std::stoull(r.out.empty() ? "0" : r.out);
}

struct Watches {
  uint64_t serve = 0, load = 0;
  int load_exit = -1;
};

Watches HoldAndCount(bool no_watch) {
  Watches w;
  std::vector<std::string> args = {"--engine", "epoll", "--workers", "1", "--listen", "127.0.0.1:0"};
  if (no_watch) args.push_back("--no-watch");
  ServeProcess serve(args);
  EXPECT_TRUE(serve.ok()) << serve.stderr_text();
  if (!serve.ok()) return w;
  pid_t pid = fork();
  if (pid == 0) {
    std::string cmd = std::string(TCPMAX_BINARY) + " load 127.0.0.1:" + std::to_string(serve.port()) +
                      " --connections " + std::to_string(kConns) +
                      " --engine epoll --processes 1 --workers 1 --hold 3s" + (no_watch ? " --no-watch" : "") +
                      " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(127);
  }
  nlohmann::json held = serve.WaitHeld(kConns, 30);
  EXPECT_FALSE(held.is_null()) << serve.stderr_text();
  // Give the load's last connections time to be established on its side too.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  w.serve = EpollWatches(std::to_string(serve.pid()));
  // The load process and its shard (a forked child).
  w.load = EpollWatches(std::to_string(pid) + " $(pgrep -P " + std::to_string(pid) + ")");
  int status = 0;
  waitpid(pid, &status, 0);
  w.load_exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  EXPECT_EQ(serve.Stop(SIGTERM), 0);
  return w;
}

TEST(HoldUnwatched, NoWatchKeepsNoEpollItemPerConnection) {
  Watches w = HoldAndCount(/*no_watch=*/true);
  EXPECT_EQ(w.load_exit, 0);
  // The listeners, the stop eventfd and the shard channel: a handful.
  EXPECT_LT(w.serve, 16u) << "serve --no-watch watches its held connections";
  EXPECT_LT(w.load, 16u) << "load --no-watch watches its held connections";
}

TEST(HoldUnwatched, ByDefaultEveryHeldConnectionIsWatched) {
  Watches w = HoldAndCount(/*no_watch=*/false);
  EXPECT_EQ(w.load_exit, 0);
  EXPECT_GE(w.serve, uint64_t{kConns});
  EXPECT_GE(w.load, uint64_t{kConns});
}

TEST(HoldUnwatched, RefusedWhereConnectionsMustBeRead) {
  RunResult echo = RunTcpmax({"serve", "--mode", "echo", "--no-watch", "--listen", "127.0.0.1:0", "--duration", "1s"});
  EXPECT_EQ(echo.exit_code, 2);
  EXPECT_NE(echo.err.find("--no-watch"), std::string::npos) << echo.err;
  RunResult ping = RunTcpmax({"load", "127.0.0.1:9", "--connections", "1", "--ping", "1s", "--no-watch"});
  EXPECT_EQ(ping.exit_code, 2);
  EXPECT_NE(ping.err.find("--no-watch"), std::string::npos) << ping.err;
}

}  // namespace
}  // namespace tcpmax::testing

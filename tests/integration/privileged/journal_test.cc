// Every change `probe --tune` makes is undone whatever ends the run: a closed
// pipe, SIGHUP, SIGKILL (then `tcpmax restore`, or the next run), and a value
// someone else changed meanwhile is left alone and reported; a second tuned
// run is refused naming the first. Needs root (writes /proc/sys and
// /run/tcpmax). Each test lowers net.core.somaxconn first so that --tune
// certainly raises it, and puts every sysctl back at the end.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "run_lock_wait.h"

namespace tcpmax::testing {
namespace {

const char* const kTuned[] = {
    "/proc/sys/fs/file-max",
    "/proc/sys/net/core/somaxconn",
    "/proc/sys/net/ipv4/tcp_max_syn_backlog",
    "/proc/sys/fs/epoll/max_user_watches",
    "/proc/sys/net/ipv4/ip_local_port_range",
    "/proc/sys/net/netfilter/nf_conntrack_max",
};
const std::string kSomaxconn = "/proc/sys/net/core/somaxconn";

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::string v;
  std::getline(f, v);
  return v;
}

void Write(const std::string& path, const std::string& v) { std::ofstream(path) << v << "\n"; }

std::map<std::string, std::string> Snapshot() {
  std::map<std::string, std::string> m;
  for (const char* p : kTuned) m[p] = Read(p);
  return m;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Lowers somaxconn so --tune raises it; puts every tuned sysctl back at the end.
class TunedSysctls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveNetAdmin()) GTEST_SKIP() << "SKIPPED (privileged): needs root with CAP_NET_ADMIN";
    ASSERT_TRUE(WaitForRunLock()) << "another tcpmax run kept the run lock for 10 minutes";
    original_ = Snapshot();
    Write(kSomaxconn, "1024");
    before_ = Snapshot();
  }
  void TearDown() override {
    for (const auto& [path, value] : original_) {
      if (!value.empty()) Write(path, value);
    }
  }
  std::map<std::string, std::string> original_, before_;
};

// A probe --tune in the background, output to files in the build dir.
class Probe {
 public:
  explicit Probe(const std::string& tag, const std::string& extra = "") {
    out_ = std::string(TCPMAX_BUILD_DIR) + "/journal-test-" + tag + ".out";
    err_ = std::string(TCPMAX_BUILD_DIR) + "/journal-test-" + tag + ".err";
    pid_ = fork();
    if (pid_ == 0) {
      int o = open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(o, 1);
      dup2(e, 2);
      std::string cmd = std::string("exec ") + TCPMAX_BINARY +
                        " probe --tune --host-netns --target 2k --engine epoll --timeout 30s --hold 60s --first-port 17500 " +
                        extra;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
      _exit(127);
    }
  }
  ~Probe() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      WaitShardsGone();
    }
  }
  // The probe's shards are forks of it (same command line); after a SIGKILL
  // they die with it (PR_SET_PDEATHSIG), but closing their sockets takes a
  // moment, and the next test's probe listens on the same port.
  static void WaitShardsGone() {
    for (int i = 0; i < 100; ++i) {
      if (RunShell("pgrep -f -- '--first-port 17500' || true").out.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // Waits until --tune has raised somaxconn.
  bool WaitTuned() const {
    for (int i = 0; i < 200; ++i) {
      if (Read(kSomaxconn) == "65535") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  int Stop(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    WaitShardsGone();
    return status;
  }
  pid_t pid() const { return pid_; }
  std::string Err() const { return ReadAll(err_); }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_, err_;
};

TEST_F(TunedSysctls, ClosedOutputPipeLeavesEverySysctlAsItWas) {
  RunResult r = RunShell(std::string(TCPMAX_BINARY) +
                             " probe --tune --host-netns --target 2k --engine epoll --timeout 20s --first-port 17500 2>&1 | head -1",
                         120);
  EXPECT_NE(r.out.find("probe:"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), before_);
  // And the plain form from the issue: stdout only into a pipe that closes.
  r = RunShell(std::string(TCPMAX_BINARY) +
                   " probe --tune --host-netns --target 2k --engine epoll --timeout 20s --first-port 17500 2>/dev/null | head -1",
               120);
  EXPECT_EQ(Snapshot(), before_);
}

TEST_F(TunedSysctls, SigkillThenRestoreRestoresEveryValue) {
  Probe p("kill-restore");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  p.Stop(SIGKILL);
  ASSERT_EQ(Read(kSomaxconn), "65535") << "SIGKILL cannot have restored anything";
  RunResult list = RunTcpmax({"restore", "--list"}, 30);
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("pid " + std::to_string(p.pid()) + " (gone)"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("net.core.somaxconn"), std::string::npos) << list.out;
  RunResult r = RunTcpmax({"restore"}, 30);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("sysctl net.core.somaxconn: restored to 1024"), std::string::npos) << r.out;
  EXPECT_EQ(Snapshot(), before_);
  RunResult again = RunTcpmax({"restore"}, 30);
  EXPECT_NE(again.out.find("nothing to restore"), std::string::npos) << again.out;
}

TEST_F(TunedSysctls, SigkillThenNextRunUndoesFirstAndSaysSo) {
  Probe p("kill-next");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  p.Stop(SIGKILL);
  ASSERT_EQ(Read(kSomaxconn), "65535");
  // Another port: the killed run's shards die with it, but not instantly.
  RunResult next = RunTcpmax(
      {"probe", "--tune", "--host-netns", "--target", "2k", "--engine", "epoll", "--timeout", "20s", "--first-port", "17700"}, 120);
  EXPECT_EQ(next.exit_code, 0) << next.err;
  EXPECT_NE(next.err.find("earlier run that did not finish (pid " + std::to_string(p.pid())), std::string::npos)
      << next.err;
  EXPECT_NE(next.err.find("sysctl net.core.somaxconn: restored to 1024"), std::string::npos) << next.err;
  // The next run took 1024 (not the leftover 65535) as the original.
  EXPECT_EQ(Snapshot(), before_);
}

// Without --host-netns the probe climbs in a namespace of its own: --tune's
// net.* settings are set there (and end with it), the host's stay as they
// were, and tcp_child_ehash_entries (set to make that namespace) is back.
TEST_F(TunedSysctls, OwnNamespaceTunesInsideAndLeavesTheHostsNetSettingsAlone) {
  const std::string child = "/proc/sys/net/ipv4/tcp_child_ehash_entries";
  const std::string child_before = Read(child);
  RunResult r = RunTcpmax(
      {"probe", "--tune", "--target", "2k", "--engine", "epoll", "--timeout", "20s", "--first-port", "17800"}, 120);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("set net.core.somaxconn: 1024 -> 65535 in the probe's namespace"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("set net.core.somaxconn: 1024 -> 65535\n"), std::string::npos) << r.err;
  EXPECT_EQ(Snapshot(), before_);
  EXPECT_EQ(Read(child), child_before);
}

TEST_F(TunedSysctls, SighupStopsTheRunAndRestores) {
  Probe p("hup");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  int status = p.Stop(SIGHUP);
  EXPECT_TRUE(WIFEXITED(status)) << "probe died of SIGHUP instead of stopping cleanly";
  EXPECT_EQ(Snapshot(), before_);
}

TEST_F(TunedSysctls, SigquitStopsTheRunAndRestores) {
  Probe p("quit");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  int status = p.Stop(SIGQUIT);
  EXPECT_TRUE(WIFEXITED(status)) << "probe died of SIGQUIT instead of stopping cleanly";
  EXPECT_EQ(Snapshot(), before_);
}

TEST_F(TunedSysctls, ValueChangedBySomeoneElseIsLeftAloneAndReported) {
  Probe p("other");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  Write(kSomaxconn, "12345");  // an operator changes it while the probe runs
  int status = p.Stop(SIGINT);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(Read(kSomaxconn), "12345") << "tcpmax overwrote a value it no longer owned";
  EXPECT_NE(p.Err().find("net.core.somaxconn: NOT restored: changed by someone else since (now '12345'"),
            std::string::npos)
      << p.Err();
  auto after = Snapshot();
  after[kSomaxconn] = before_[kSomaxconn];
  EXPECT_EQ(after, before_) << "the other values are restored";
}

TEST_F(TunedSysctls, SecondTunedRunRefusesNamingTheFirst) {
  Probe p("first");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  RunResult second = RunTcpmax(
      {"probe", "--tune", "--host-netns", "--target", "2k", "--engine", "epoll", "--timeout", "10s", "--first-port", "17600"}, 60);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("another tcpmax run is changing this system: pid " + std::to_string(p.pid())),
            std::string::npos)
      << second.err;
  EXPECT_EQ(Read(kSomaxconn), "65535") << "the refused run must not touch the first run's values";
  // The refusal is one line, before anything else is printed or read.
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;
  p.Stop(SIGINT);
  EXPECT_EQ(Snapshot(), before_);
}


TEST_F(TunedSysctls, RestoreLeavesAValueSomeoneElseChangedAfterTheKill) {
  Probe p("kill-other");
  ASSERT_TRUE(p.WaitTuned()) << p.Err();
  p.Stop(SIGKILL);
  Write(kSomaxconn, "23456");  // an operator fixed it by hand meanwhile
  RunResult list = RunTcpmax({"restore", "--list", "--json"}, 30);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"net.core.somaxconn\""), std::string::npos) << list.out;
  RunResult r = RunTcpmax({"restore", "--json"}, 30);
  EXPECT_EQ(r.exit_code, 1) << "a change left alone is reported with exit 1";
  EXPECT_NE(r.out.find("\"left_alone\""), std::string::npos) << r.out;
  EXPECT_EQ(Read(kSomaxconn), "23456");
  auto after = Snapshot();
  after[kSomaxconn] = before_[kSomaxconn];
  EXPECT_EQ(after, before_) << "every other value is restored";
}

}  // namespace
}  // namespace tcpmax::testing

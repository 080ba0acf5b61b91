// tcpmax probe --server against real servers started by the test on
// loopback: Debian's nginx (its connection cap, then its fd limit), a Python
// asyncio server under prlimit (its RLIMIT_NOFILE, the accept queue not
// counted as held), a server that stops accepting (listen queue overflow),
// a server named by --cgroup, tcpmax serve started with --exec in its own
// memory group (its kernel bytes per connection against half the probe's own
// loopback figure, both measured on the socket caches), and the bad input that must leave nothing behind.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

const std::string kData = TCPMAX_TEST_DATA;
const std::string kPython = "/usr/bin/python3";

nlohmann::json ProbeServer(const std::vector<std::string>& extra, RunResult* raw = nullptr) {
  std::vector<std::string> args = {"probe", "--json", "--timeout", "60s"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = RunTcpmax(args, 120);
  if (raw != nullptr) *raw = r;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "exit " << r.exit_code << "\n" << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return j;
}

std::string Evidence(const nlohmann::json& finding) {
  std::string all;
  for (const auto& e : finding["evidence"]) all += e.get<std::string>() + "\n";
  return all;
}

// Nothing of a --exec run is left: its memory group and its log.
void ExpectNothingLeft() {
  RunResult groups = RunShell("find /sys/fs/cgroup -maxdepth 6 -name 'tcpmax-*' -type d 2>/dev/null");
  EXPECT_EQ(groups.out, "") << "control groups left behind";
  RunResult logs = RunShell("ls /tmp/tcpmax-server-*.log 2>/dev/null");
  EXPECT_EQ(logs.out, "") << "server logs left behind";
}

class NginxConf {
 public:
  NginxConf(int workers, int connections, int rlimit) {
    char tmpl[] = "/tmp/tcpmax-probe-nginx-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = UnusedLoopbackPort();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "daemon off;\nworker_processes " << workers << ";\n";
    if (rlimit > 0) conf << "worker_rlimit_nofile " << rlimit << ";\n";
    conf << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log;\n"
         << "events { worker_connections " << connections << "; }\n"
         << "http {\n  access_log off;\n  client_body_temp_path " << dir_ << ";\n  proxy_temp_path " << dir_
         << ";\n  fastcgi_temp_path " << dir_ << ";\n  uwsgi_temp_path " << dir_ << ";\n  scgi_temp_path " << dir_
         << ";\n  client_header_timeout 120s;\n"
         << "  server { listen 127.0.0.1:" << port_ << "; return 200 \"ok\\n\"; }\n}\n";
  }
  ~NginxConf() { RunShell("rm -rf " + dir_); }
  std::string exec() const { return "nginx -p " + dir_ + " -e " + dir_ + "/error.log -c " + dir_ + "/nginx.conf"; }
  std::string conf() const { return dir_ + "/nginx.conf"; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  uint16_t port_ = 0;
};

TEST(ProbeServer, NginxWorkerConnectionsIsTheCap) {
  TCPMAX_REQUIRE_NET_ADMIN();
  NginxConf nginx(2, 768, 0);
  auto j = ProbeServer({"--server", nginx.server(), "--exec", nginx.exec(), "--target", "5000"});
  ASSERT_TRUE(j.contains("binding")) << j.dump(2);
  EXPECT_EQ(j["server"]["name"], "nginx");
  EXPECT_EQ(j["recognised"]["config"], nginx.conf());
  EXPECT_EQ(j["binding"]["id"], "server.connection_cap") << j["findings"].dump(2);
  EXPECT_NE(j["binding"]["remedy"].get<std::string>().find("worker_connections"), std::string::npos);
  EXPECT_EQ(j["binding"]["ceiling"], 768 * 2);
  // The plateau sits just under worker_connections x workers less nginx's own
  // slots (a listening socket and a channel per worker): when a worker is full,
  // nginx closes up to 32 of its idle connections to make room ("reusing
  // connections"), so it settles a few dozen under its cap.
  uint64_t held = j["outcome"]["held"];
  EXPECT_LE(held, 768u * 2 - 4);
  EXPECT_GE(held, (768u * 2 - 4) * 85 / 100);
  EXPECT_GT(j["outcome"]["closed_by_server"].get<uint64_t>(), 0u);
  EXPECT_LT(j["outcome"]["closed_after_seconds"]["p50"].get<double>(), 1.0);
  EXPECT_EQ(j["verification"]["ok"], true) << j["verification"].dump();
  EXPECT_EQ(j["verification"]["owned"], held);
  ExpectNothingLeft();
}

TEST(ProbeServer, NginxWorkerRlimitNofileIsTheCap) {
  TCPMAX_REQUIRE_NET_ADMIN();
  NginxConf nginx(2, 4096, 1000);
  auto j = ProbeServer({"--server", nginx.server(), "--exec", nginx.exec(), "--target", "5000"});
  EXPECT_EQ(j["binding"]["id"], "rlimit_nofile_soft") << j["findings"].dump(2);
  EXPECT_NE(j["binding"]["remedy"].get<std::string>().find("worker_rlimit_nofile"), std::string::npos);
  // Each worker holds 1,000 descriptors less the ones it had before.
  uint64_t expected = 0;
  for (const auto& p : j["processes"]) {
    if (p["cmdline"].get<std::string>().find("worker process") != std::string::npos) {
      EXPECT_EQ(p["nofile_soft"], 1000);
      expected += 1000 - p["fds_start"].get<uint64_t>();
    }
  }
  uint64_t held = j["outcome"]["held"];
  EXPECT_NEAR(double(held), double(expected), expected * 0.02);
  EXPECT_GT(j["outcome"]["queued"].get<uint64_t>(), 0u) << "connections left in the accept queue";
  ExpectNothingLeft();
}

TEST(ProbeServer, PythonUnderPrlimitByPid) {
  TCPMAX_REQUIRE_NET_ADMIN();
  uint16_t port = UnusedLoopbackPort();
  std::string log = "/tmp/tcpmax-probe-asyncio.log";
  RunShell("prlimit --nofile=1500 " + kPython + " " + kData + "/servers/asyncio_server.py " + std::to_string(port) +
           " 128 > " + log + " 2>&1 & echo $! > /tmp/tcpmax-probe-asyncio.pid");
  pid_t pid = std::atoi(RunShell("cat /tmp/tcpmax-probe-asyncio.pid").out.c_str());
  ASSERT_GT(pid, 0);
  // Until it listens.
  for (int i = 0; i < 100 && RunShell("ss -Hltn 'sport = :" + std::to_string(port) + "'").out.empty(); ++i) usleep(50'000);
  auto j = ProbeServer({"--server", "127.0.0.1:" + std::to_string(port), "--pid", std::to_string(pid), "--target", "2500"});
  ::kill(pid, SIGTERM);
  EXPECT_EQ(j["binding"]["id"], "rlimit_nofile_soft") << j["findings"].dump(2);
  EXPECT_EQ(j["server"]["name"], "python3");
  const auto& proc = j["processes"][0];
  EXPECT_EQ(proc["nofile_soft"], 1500);
  // Accepted = its limit less the descriptors it had before.
  uint64_t expected = 1500 - proc["fds_start"].get<uint64_t>();
  EXPECT_EQ(j["outcome"]["held"], expected);
  EXPECT_EQ(j["verification"]["ok"], true) << j["verification"].dump();
  // The rest of what the client holds waits in the queue (or exists on the
  // client's side only): not held, and said so.
  uint64_t queued = j["outcome"]["queued"], client = j["outcome"]["client_held"], only = j["outcome"]["client_only"];
  EXPECT_GT(queued, 0u);
  EXPECT_EQ(client, expected + queued + only);
  RunShell("rm -f " + log + " /tmp/tcpmax-probe-asyncio.pid");
}

TEST(ProbeServer, AServerThatStopsAcceptingOverflowsItsListenQueue) {
  TCPMAX_REQUIRE_NET_ADMIN();
  uint16_t port = UnusedLoopbackPort();
  std::string cmd = kPython + " " + kData + "/servers/no_accept_server.py " + std::to_string(port) + " 32 50";
  auto j = ProbeServer({"--server", "127.0.0.1:" + std::to_string(port), "--exec", cmd, "--target", "2000"});
  EXPECT_EQ(j["binding"]["id"], "server.not_accepting") << j["findings"].dump(2);
  EXPECT_EQ(j["outcome"]["held"], 50);
  EXPECT_GT(j["outcome"]["counters"]["TcpExt.ListenOverflows"].get<uint64_t>(), 0u);
  EXPECT_NE(Evidence(j["binding"]).find("ListenOverflows"), std::string::npos) << Evidence(j["binding"]);
  ExpectNothingLeft();
}

TEST(ProbeServer, ACgroupNamesTheServer) {
  TCPMAX_REQUIRE_NET_ADMIN();
  // A memory group of the test's own, below this process's, holding the server.
  std::string own = RunShell("sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup").out;
  while (!own.empty() && own.back() == '\n') own.pop_back();
  if (own.empty()) GTEST_SKIP() << "SKIPPED: no v1 memory controller here";
  std::string group = "/sys/fs/cgroup/memory" + (own == "/" ? std::string() : own) + "/tcpmax-test-probe-cgroup";
  ASSERT_EQ(RunShell("mkdir -p " + group).exit_code, 0);
  uint16_t port = UnusedLoopbackPort();
  RunShell("sh -c 'echo $$ > " + group + "/cgroup.procs; exec " + kPython + " " + kData +
           "/servers/asyncio_server.py " + std::to_string(port) + " 4096' > /dev/null 2>&1 &");
  for (int i = 0; i < 100 && RunShell("ss -Hltn 'sport = :" + std::to_string(port) + "'").out.empty(); ++i) usleep(50'000);
  auto j = ProbeServer({"--server", "127.0.0.1:" + std::to_string(port), "--cgroup", group, "--target", "3000"});
  RunShell("kill $(cat " + group + "/cgroup.procs); sleep 0.3; rmdir " + group);
  EXPECT_EQ(j["outcome"]["target_reached"], true) << j.dump(2);
  EXPECT_EQ(j["outcome"]["held"], 3000);
  EXPECT_EQ(j["server"]["cgroup"], group);
  EXPECT_EQ(j["server"]["cgroup_own"], true);
  EXPECT_EQ(j["binding"], nullptr);
  EXPECT_GT(j["cost"]["cgroup_kernel_bytes"].get<double>(), 0);
}

TEST(ProbeServer, ServeInItsOwnGroupCostsHalfOfALoopbackConnection) {
  TCPMAX_REQUIRE_NET_ADMIN();
  // Side by side in one run: the probe's own loopback figure (both ends),
  // then tcpmax serve started by --exec in its own memory group.
  RunResult own = RunTcpmax({"probe", "--target", "15k", "--engine", "epoll", "--first-port", "17400", "--interval", "100ms", "--rate", "10k/s",
                             "--json"}, 180);
  ASSERT_EQ(own.exit_code, 0) << own.err;
  auto o = nlohmann::json::parse(own.out);
  // The socket caches (socket, inode, file, epoll watch), both ends.
  double both = o["memory"]["socket_slab"]["bytes_per_connection"];
  ASSERT_GT(both, 4000) << o["memory"].dump(2);
  uint16_t port = UnusedLoopbackPort();
  std::string serve = std::string(TCPMAX_BINARY) + " serve --engine epoll --listen 127.0.0.1:" + std::to_string(port);
  auto j = ProbeServer({"--server", "127.0.0.1:" + std::to_string(port), "--exec", serve, "--target", "15k",
                        "--engine", "epoll", "--interval", "100ms", "--rate", "10k/s"});
  EXPECT_EQ(j["outcome"]["held"], 15000);
  double server = j["cost"]["kernel_bytes"];
  std::printf("kernel bytes per connection: server side %.0f, both ends of the own climb %.0f (half %.0f)\n", server, both,
              both / 2);
  EXPECT_NEAR(server, both / 2, both / 2 * 0.10) << "server side " << server << " B, both ends " << both << " B\n"
                                                 << j["cost"].dump(2);
  EXPECT_GT(j["cost"]["cgroup_kernel_bytes"].get<double>(), 0);
  ExpectNothingLeft();
}

TEST(LoadServerPid, SaysWhatTheServerHoldsAndWhatItDoesNot) {
  TCPMAX_REQUIRE_NET_ADMIN();
  uint16_t port = UnusedLoopbackPort();
  RunShell("prlimit --nofile=1200 " + kPython + " " + kData + "/servers/asyncio_server.py " + std::to_string(port) +
           " 128 > /dev/null 2>&1 & echo $! > /tmp/tcpmax-load-serverpid.pid");
  pid_t pid = std::atoi(RunShell("cat /tmp/tcpmax-load-serverpid.pid").out.c_str());
  for (int i = 0; i < 100 && RunShell("ss -Hltn 'sport = :" + std::to_string(port) + "'").out.empty(); ++i) usleep(50'000);
  RunResult r = RunTcpmax({"load", "127.0.0.1:" + std::to_string(port), "-n", "2000", "--rate", "2k/s", "--hold", "2s",
                           "--connect-timeout", "1s", "--server-pid", std::to_string(pid), "--json"});
  RunResult text = RunTcpmax({"load", "127.0.0.1:" + std::to_string(port), "-n", "10", "--server-pid", "999999"});
  ::kill(pid, SIGTERM);
  RunShell("rm -f /tmp/tcpmax-load-serverpid.pid");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("server")) << r.out;
  uint64_t held = j["server"]["held"], queued = j["server"]["queued"], only = j["server"]["client_only"];
  EXPECT_LE(held, 1200u);
  EXPECT_GE(held, 1180u);
  EXPECT_GT(queued, 0u);
  EXPECT_EQ(j["held"].get<uint64_t>(), held + queued + only) << "every client-held connection is accounted for";
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_NE(text.err.find("--server-pid 999999: no such process"), std::string::npos) << text.err;
}

TEST(ProbeServer, AKilledProbesServerAndGroupAreUndoneByRestore) {
  TCPMAX_REQUIRE_NET_ADMIN();
  uint16_t port = UnusedLoopbackPort();
  std::string cmd = kPython + " " + kData + "/servers/asyncio_server.py " + std::to_string(port);
  pid_t probe = fork();
  if (probe == 0) {
    std::string line = std::string(TCPMAX_BINARY) + " probe --server 127.0.0.1:" + std::to_string(port) + " --exec '" +
                       cmd + "' --target 500 --hold 60s > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + line).c_str(), nullptr);
    _exit(127);
  }
  // Until the server's group exists and the server listens.
  std::string group;
  for (int i = 0; i < 200 && (group.empty() || RunShell("ss -Hltn 'sport = :" + std::to_string(port) + "'").out.empty());
       ++i) {
    group = RunShell("find /sys/fs/cgroup -maxdepth 6 -name 'tcpmax-server-*' -type d 2>/dev/null").out;
    usleep(50'000);
  }
  ASSERT_FALSE(group.empty());
  usleep(500'000);
  ::kill(probe, SIGKILL);
  ::waitpid(probe, nullptr, 0);
  usleep(300'000);
  while (!group.empty() && group.back() == '\n') group.pop_back();
  EXPECT_EQ(RunShell("test -d " + group).exit_code, 0) << "the group outlives a SIGKILLed probe";
  RunResult r = RunTcpmax({"restore"}, 60);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("cgroup"), std::string::npos) << r.out << r.err;
  EXPECT_NE(RunShell("test -d " + group).exit_code, 0) << "restore removed " << group;
  EXPECT_EQ(RunShell("ss -Hltn 'sport = :" + std::to_string(port) + "'").out, "") << "the server was stopped";
  ExpectNothingLeft();
}

TEST(ProbeServer, BadInputIsOneLineExitTwoAndLeavesNothing) {
  TCPMAX_REQUIRE_NET_ADMIN();
  uint16_t port = UnusedLoopbackPort();
  std::string server = "127.0.0.1:" + std::to_string(port);
  struct Case {
    std::vector<std::string> args;
    std::string says;
  } cases[] = {
      {{"--server", server, "--pid", "999999"}, "--pid 999999: no such process"},
      {{"--server", server, "--pid", std::to_string(::getpid())}, "does not listen on port"},
      {{"--server", server, "--exec", "echo going; exit 3"}, "exited (status 3) before listening"},
      {{"--server", server, "--cgroup", "/no/such/group"}, "--cgroup /no/such/group: no such"},
      {{"--server", server}, "exactly one of --pid, --exec, --cgroup"},
      {{"--pid", "1"}, "give --server too"},
      {{"--server", "10.1.2.3:80", "--pid", "1"}, "not a loopback address"},
      {{"--server", server, "--pid", "1", "--tune"}, "--tune: not with --server"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"probe"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    RunResult r = RunTcpmax(args, 60);
    EXPECT_EQ(r.exit_code, 2) << c.says << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
  }
  ExpectNothingLeft();
}

}  // namespace
}  // namespace tcpmax::testing

// A real peer nobody here wrote: tcpmax load holds 10,000 connections to
// Debian's nginx, started by this test on a loopback port with its own
// temporary configuration, and `tcpmax count` sees them all.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

class Nginx {
 public:
  Nginx() {
    char tmpl[] = "/tmp/tcpmax-nginx-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = UnusedLoopbackPort();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "worker_processes 1;\n"
            "worker_rlimit_nofile 20000;\n"
            "pid " << dir_ << "/nginx.pid;\n"
            "error_log " << dir_ << "/error.log;\n"
            "events { worker_connections 16000; }\n"
            "http {\n"
            "  access_log off;\n"
            "  client_body_temp_path " << dir_ << ";\n"
            "  proxy_temp_path " << dir_ << ";\n"
            "  fastcgi_temp_path " << dir_ << ";\n"
            "  uwsgi_temp_path " << dir_ << ";\n"
            "  scgi_temp_path " << dir_ << ";\n"
            "  client_header_timeout 120s;\n"
            "  keepalive_timeout 120s;\n"
            "  server { listen 127.0.0.1:" << port_ << " backlog=4096; return 200 \"ok\\n\"; }\n"
            "}\n";
    conf.close();
    started_ = RunShell("nginx -p " + dir_ + " -c " + dir_ + "/nginx.conf 2>&1").exit_code == 0;
  }
  ~Nginx() {
    RunShell("nginx -p " + dir_ + " -c " + dir_ + "/nginx.conf -s stop 2>/dev/null; sleep 0.2; rm -rf " + dir_);
  }
  bool started() const { return started_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  std::string ErrorLog() const { return RunShell("tail -5 " + dir_ + "/error.log").out; }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  bool started_ = false;
};

TEST(LoadNginx, Holds10000ConnectionsToNginx) {
  if (RunShell("command -v nginx").exit_code != 0) GTEST_SKIP() << "SKIPPED: nginx not installed (scripts/install-deps)";
  Nginx nginx;
  ASSERT_TRUE(nginx.started()) << nginx.ErrorLog();
  // Hold for 3 s; count the established connections to nginx's port from
  // the kernel's tables after 2 s, while they are held.
  std::string cmd = std::string(TCPMAX_BINARY) + " load " + nginx.target() +
                    " -n 10000 --source 127.0.0.0/24 --hold 3s --json > /tmp/tcpmax-nginx-load.json & "
                    "sleep 2; " TCPMAX_BINARY " count --rport " + std::to_string(nginx.port()) +
                    " --state established --json; wait; cat /tmp/tcpmax-nginx-load.json; rm -f /tmp/tcpmax-nginx-load.json";
  RunResult r = RunShell(cmd, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // stdout: count's JSON object, then load's one-line summary.
  size_t split = r.out.rfind("\n{");
  ASSERT_NE(split, std::string::npos) << r.out;
  auto count = nlohmann::json::parse(r.out.substr(0, split), nullptr, false);
  auto load = nlohmann::json::parse(r.out.substr(split + 1), nullptr, false);
  ASSERT_TRUE(count.is_object()) << r.out;
  ASSERT_TRUE(load.is_object()) << r.out;
  EXPECT_EQ(load["opened"].get<uint64_t>(), 10000u) << r.out;
  EXPECT_EQ(load["held"].get<uint64_t>(), 10000u) << r.out << nginx.ErrorLog();
  EXPECT_EQ(load["failed"].get<uint64_t>(), 0u);
  EXPECT_EQ(count["total"].get<uint64_t>(), 10000u) << r.out;
}

}  // namespace
}  // namespace tcpmax::testing

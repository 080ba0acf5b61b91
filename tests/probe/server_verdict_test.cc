// What stops a user's server, decided from made-up reports: each rule with
// the evidence that triggers it, and the ones that must not fire.
#include "probe/server_verdict.h"

#include <gtest/gtest.h>

#include "probe/server_config.h"
#include "sys/reader.h"

namespace tcpmax::probe {
namespace {

ServerReport Base() {
  ServerReport r;
  r.target = 5000;
  r.stop_reason = StopReason::kLimit;
  ServerSample s;
  s.opened = 5000;
  s.backlog = 128;
  s.threads = 1;
  r.samples.push_back(s);
  return r;
}

ServerProcess Proc(pid_t pid, std::string cmdline, uint64_t soft, uint64_t start, uint64_t peak) {
  return ServerProcess{pid, "srv", std::move(cmdline), soft, soft, start, peak, 0, 0, 1, true};
}

std::vector<ServerFinding> Diagnose(const ServerReport& r, unsigned cores = 2) {
  ServerVerdictInput in;
  in.report = &r;
  in.cores = cores;
  return DiagnoseServer(in);
}

TEST(DiagnoseServer, TargetReachedBindsNothing) {
  ServerReport r = Base();
  r.target_reached = true;
  EXPECT_TRUE(Diagnose(r).empty());
}

TEST(DiagnoseServer, AProcessAtItsNofileLimitIsTheFdLimit) {
  ServerReport r = Base();
  r.processes = {Proc(10, "python3 srv.py", 3000, 7, 3000)};
  r.held = 2993;
  r.queued = 129;
  r.counters["TcpExt.ListenOverflows"] = 5634;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "rlimit_nofile_soft");
  EXPECT_EQ(f[0].ceiling, 2993u);
  std::string ev;
  for (const auto& e : f[0].evidence) ev += e + "\n";
  EXPECT_NE(ev.find("3,000 of 3,000"), std::string::npos) << ev;
  EXPECT_NE(ev.find("ListenOverflows +5,634"), std::string::npos) << ev;
  EXPECT_NE(ev.find("129"), std::string::npos) << ev;
  // The full queue is a consequence here, not a finding of its own.
  for (const auto& x : f) EXPECT_NE(x.id, "server.not_accepting");
}

TEST(DiagnoseServer, NginxFdLimitNamesWorkerRlimitNofile) {
  ServerReport r = Base();
  r.kind = ParseNginxConfig("worker_processes 2;\nworker_rlimit_nofile 1000;\nevents { worker_connections 4096; }\n");
  r.kind.config = "/etc/nginx/nginx.conf";
  r.processes = {Proc(1, "nginx: master process", 20000, 9, 9), Proc(2, "nginx: worker process", 1000, 9, 1000),
                 Proc(3, "nginx: worker process", 1000, 9, 999)};
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "rlimit_nofile_soft");
  EXPECT_EQ(f[0].ceiling, 1982u);
  EXPECT_NE(f[0].remedy.find("worker_rlimit_nofile in /etc/nginx/nginx.conf (now 1000)"), std::string::npos) << f[0].remedy;
}

TEST(DiagnoseServer, QuickClosesBelowTheFdLimitAreAConnectionCap) {
  ServerReport r = Base();
  r.kind = ParseNginxConfig("worker_processes 2;\nevents {\n  worker_connections 768; # per worker\n}\n");
  r.processes = {Proc(1, "nginx: master process", 20000, 9, 9), Proc(2, "nginx: worker process", 20000, 9, 720),
                 Proc(3, "nginx: worker process", 20000, 9, 721)};
  r.accepted_peak = 1420;
  r.closed_by_server = 3584;
  r.closed_after_p50 = 0.28;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "server.connection_cap");
  EXPECT_EQ(f[0].ceiling, 1536u);
  EXPECT_NE(f[0].remedy.find("worker_connections"), std::string::npos);
}

TEST(DiagnoseServer, SteadyLateClosesAreAnIdleTimeout) {
  ServerReport r = Base();
  r.processes = {Proc(1, "srv", 20000, 5, 2000)};
  r.closed_by_server = 2000;
  r.accepted_peak = 2000;  // it held them, then closed them
  r.held = 0;
  r.closed_after_p10 = 9.8;
  r.closed_after_p50 = 10.0;
  r.closed_after_p90 = 10.3;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "server.idle_timeout");
  EXPECT_NE(f[0].remedy.find("10"), std::string::npos) << f[0].remedy;
  for (const auto& x : f) EXPECT_NE(x.id, "server.connection_cap");
}

TEST(DiagnoseServer, LateClosesOfConnectionsNeverAcceptedAreTheBacklogNotATimeout) {
  ServerReport r = Base();
  r.processes = {Proc(1, "nginx: worker process", 20000, 9, 17000)};
  r.accepted_peak = 498266;  // a few closed after the peak: not what 88,864 closes would leave
  r.held = 498256;
  r.closed_by_server = 88864;
  r.closed_after_p10 = 30.1;
  r.closed_after_p50 = 35.4;
  r.closed_after_p90 = 39.7;
  r.counters["TcpExt.ListenOverflows"] = 75649;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "net.core.somaxconn");
  for (const auto& x : f) EXPECT_NE(x.id, "server.idle_timeout");
  std::string ev;
  for (const auto& e : f[0].evidence) ev += e + "\n";
  EXPECT_NE(ev.find("never accepted"), std::string::npos) << ev;
}

TEST(DiagnoseServer, AFullQueueAndNoAcceptsIsNotAccepting) {
  ServerReport r = Base();
  r.processes = {Proc(1, "srv", 20000, 5, 55)};
  r.accepted_peak = 50;
  r.queued = 33;
  r.samples.back().backlog = 32;
  r.counters["TcpExt.ListenOverflows"] = 3000;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "server.not_accepting");
}

TEST(DiagnoseServer, AFullQueueWithTheServerAtFullCpuIsCpu) {
  ServerReport r = Base();
  r.processes = {Proc(1, "srv", 20000, 5, 500)};
  r.queued = 129;
  r.samples.back().cpu_percent = 99;
  r.samples.back().threads = 1;
  auto f = Diagnose(r, 2);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "server.cpu");
}

TEST(DiagnoseServer, OverflowWhileStillAcceptingIsTheBacklog) {
  ServerReport r = Base();
  r.processes = {Proc(1, "srv", 20000, 5, 3000)};
  r.queued = 0;
  r.client_only = 2796;
  r.counters["TcpExt.ListenOverflows"] = 7162;
  auto f = Diagnose(r);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].id, "net.core.somaxconn");
  std::string ev;
  for (const auto& e : f[0].evidence) ev += e + "\n";
  EXPECT_NE(ev.find("2,796"), std::string::npos) << ev;
}

TEST(DiagnoseServer, NothingSeenIsSaidSo) {
  ServerReport r = Base();
  r.stop_reason = StopReason::kTimeout;
  r.processes = {Proc(1, "srv", 20000, 5, 100)};
  auto f = Diagnose(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "unknown");
}

TEST(ServerConfig, NginxDirectivesAndDefaults) {
  ServerKind k = ParseNginxConfig("# worker_connections 1;\nuser www-data;\nevents {}\n");
  EXPECT_EQ(k.settings["worker_connections"], "512");  // nginx's default
  EXPECT_EQ(k.settings["worker_processes"], "1");
  EXPECT_EQ(k.settings.count("worker_rlimit_nofile"), 0u);
  ServerKind i = ParseNginxConfig("include /etc/nginx/modules-enabled/*.conf;\nworker_processes auto;\n");
  EXPECT_EQ(i.settings["worker_processes"], "auto");
  EXPECT_FALSE(i.note.empty()) << "includes are not followed, and it says so";
}

TEST(ServerConfig, ASystemdUnitIsRecognisedByItsGroup) {
  ServerKind k = RecognizeServer("myapp", "/usr/bin/myapp --port 80", "/system.slice/myapp.service");
  EXPECT_EQ(k.name, "systemd unit");
  EXPECT_EQ(k.settings["unit"], "myapp.service");
  EXPECT_TRUE(RecognizeServer("myapp", "/usr/bin/myapp", "/user.slice").name.empty());
}

}  // namespace
}  // namespace tcpmax::probe

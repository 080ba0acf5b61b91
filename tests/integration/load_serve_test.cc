// tcpmax load against tcpmax serve on loopback, once per engine:
//  - 50,000 connections from 4 source addresses to 4 ports (16 pairs of
//    3,125), once per load engine: the server's held count, the client's
//    held count and `tcpmax count` on both sides agree exactly; with the
//    uring engine the load side is ONE process past the 20,000 fd limit,
//    with epoll it forks shards (serve holds them with uring either way);
//  - echo: every ping round trip comes back intact.
#include <unistd.h>

#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

// Four consecutive ports below the ephemeral range, varied per test process.
int BasePort(int salt) { return 20000 + ((::getpid() * 8 + salt * 4) % 8000); }

nlohmann::json LastOfType(const std::string& lines, const std::string& type) {
  std::istringstream in(lines);
  std::string line;
  nlohmann::json last;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("type", "") == type) last = j;
  }
  return last;
}

struct Run {
  nlohmann::json load, serve_at_count, server_count, client_count;
  std::string raw;
};

// Starts serve, runs load until "done", counts both sides while held, stops both.
// `engine` is the load engine; serve always uses uring, since one serve
// process on epoll stops at the 20,000 fd limit.
Run HoldAndCount(const std::string& engine, const std::string& mode, int base, const std::string& load_flags) {
  std::string dir = "/tmp/tcpmax-load-serve-" + std::to_string(::getpid()) + "-" + engine;
  std::string ports = std::to_string(base) + "-" + std::to_string(base + 3);
  std::string t = TCPMAX_BINARY;
  std::string script =
      "set -u; mkdir -p " + dir + "; cd " + dir + "; " +
      t + " serve --listen 127.0.0.1:" + ports + " --engine uring --mode " + mode +
      " --progress-json --interval 200ms --json >serve.json 2>serve.err & S=$!; "
      "i=0; until grep -q '\"ready\"' serve.err; do i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.1; done; " +
      t + " load 127.0.0.1:" + ports + " " + load_flags + " --engine " + engine +
      " --hold forever --progress-json --interval 200ms --json >load.json 2>load.err & L=$!; "
      "i=0; until grep -q '\"done\"' load.err; do i=$((i+1)); [ $i -gt 600 ] && break; sleep 0.2; done; "
      "sleep 1; cp serve.err serve_at_count.err; " +
      // Server side: 127.0.0.1:ports; client side: to 127.0.0.1:ports. The
      // address filters keep out any other socket on the box that happens
      // to use one of these port numbers locally.
      t + " count --lport " + ports + " --src 127.0.0.1/32 --state established --json >server_count.json; " +
      t + " count --rport " + ports + " --dst 127.0.0.1/32 --state established --json >client_count.json; "
      "kill -TERM $L; wait $L; kill -TERM $S; wait $S; "
      "cat load.json; echo '=== serve'; cat serve_at_count.err; echo '=== server_count'; cat server_count.json; "
      "echo '=== client_count'; cat client_count.json; echo '=== load.err'; tail -3 load.err; cd /; rm -rf " + dir;
  RunResult r = RunShell(script, 240);
  Run run;
  run.raw = r.out + r.err;
  auto part = [&](const std::string& from, const std::string& to) {
    size_t a = from.empty() ? 0 : r.out.find(from);
    if (a == std::string::npos) return std::string();
    a += from.size();
    size_t b = to.empty() ? std::string::npos : r.out.find(to, a);
    return r.out.substr(a, b == std::string::npos ? std::string::npos : b - a);
  };
  run.load = nlohmann::json::parse(part("", "=== serve"), nullptr, false);
  run.serve_at_count = LastOfType(part("=== serve", "=== server_count"), "progress");
  run.server_count = nlohmann::json::parse(part("=== server_count", "=== client_count"), nullptr, false);
  run.client_count = nlohmann::json::parse(part("=== client_count", "=== load.err"), nullptr, false);
  return run;
}

void Expect50kAgree(const std::string& engine, int salt) {
  Run run = HoldAndCount(engine, "hold", BasePort(salt),
                         "-n 50000 --source 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5");
  ASSERT_TRUE(run.load.is_object()) << run.raw;
  ASSERT_TRUE(run.serve_at_count.is_object()) << run.raw;
  ASSERT_TRUE(run.server_count.is_object()) << run.raw;
  ASSERT_TRUE(run.client_count.is_object()) << run.raw;
  EXPECT_EQ(run.load["sources"].get<int>(), 4);
  EXPECT_EQ(run.load["max_per_pair"].get<int>(), 3125);
  EXPECT_EQ(run.load["failed"].get<uint64_t>(), 0u) << run.load.dump();
  EXPECT_EQ(run.load["held"].get<uint64_t>(), 50000u) << run.raw;
  EXPECT_EQ(run.serve_at_count["held"].get<uint64_t>(), 50000u) << run.raw;
  EXPECT_EQ(run.server_count["total"].get<uint64_t>(), 50000u) << run.raw;
  EXPECT_EQ(run.client_count["total"].get<uint64_t>(), 50000u) << run.raw;
  if (engine == "uring") {
    EXPECT_EQ(run.load["processes"].get<int>(), 1);  // past the 20,000 fd limit
  }
}

TEST(LoadServe, Uring50kFrom4SourcesAllCountsAgree) { Expect50kAgree("uring", 0); }

TEST(LoadServe, Epoll50kFrom4SourcesAllCountsAgree) { Expect50kAgree("epoll", 1); }

TEST(LoadServe, EchoRoundTripsAreIntactOnBothEngines) {
  for (const std::string engine : {"uring", "epoll"}) {
    RunResult r = RunShell(std::string("set -u; ") + TCPMAX_BINARY + " serve --listen 127.0.0.1:" +
                           std::to_string(BasePort(engine == "uring" ? 2 : 3)) + " --engine " + engine +
                           " --mode echo --duration 20s >/dev/null 2>&1 & S=$!; sleep 0.5; " + TCPMAX_BINARY +
                           " load 127.0.0.1:" + std::to_string(BasePort(engine == "uring" ? 2 : 3)) +
                           " -n 1000 --engine " + engine + " --ping 200ms --hold 2s --json; kill -TERM $S; wait $S",
                           60);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out << r.err;
    EXPECT_EQ(j["held"].get<uint64_t>(), 1000u) << engine;
    EXPECT_GE(j["pongs"].get<uint64_t>(), 1000u * 8) << engine << " " << r.out;
    EXPECT_EQ(j["pongs_bad"].get<uint64_t>(), 0u) << engine;
    EXPECT_LE(j["pongs"].get<uint64_t>(), j["pings_sent"].get<uint64_t>());
    EXPECT_GT(j["rtt"]["p99_ns"].get<uint64_t>(), 0u);
  }
}

}  // namespace
}  // namespace tcpmax::testing

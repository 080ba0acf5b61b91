// `tcpmax limits` end to end: the live box, --json, --explain, --snapshot,
// --record round trip, --set what-if, and one-line usage errors (exit 2).
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

using nlohmann::json;

std::string Snapshots() { return std::string(TCPMAX_TEST_DATA) + "/snapshots/"; }

bool OneLine(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

json Json(const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out, nullptr, false);
}

TEST(Limits, LiveTextNamesTheBindingLimitAndRemedies) {
  RunResult r = RunTcpmax({"limits"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("INBOUND"), std::string::npos);
  EXPECT_NE(r.out.find("BINDS"), std::string::npos);
  EXPECT_NE(r.out.find("per process"), std::string::npos);
  EXPECT_NE(r.out.find("whole box"), std::string::npos);
  EXPECT_NE(r.out.find("next limit"), std::string::npos);
  EXPECT_NE(r.out.find("remedies:"), std::string::npos);
}

TEST(Limits, LiveJsonPerProcessCeilingFollowsRlimit) {
  json j = Json(RunTcpmax({"limits", "--json"}));
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema"], "tcpmax.limits/2");
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  for (const json& f : j["inbound"]["findings"]) {  // readings are numbers: the child's rlimits are ours
    if (f["id"] == "rlimit_nofile_soft") {
      EXPECT_EQ(f["observed"]["soft"].get<uint64_t>(), uint64_t(rl.rlim_cur));
    }
    if (f["id"] != "rlimit_nofile_hard") continue;
    if (rl.rlim_max == RLIM_INFINITY) {
      EXPECT_TRUE(f["observed"]["hard"].is_null()) << f;  // no bound
    } else {
      EXPECT_EQ(f["observed"]["hard"].get<uint64_t>(), uint64_t(rl.rlim_max));
    }
  }
  const json& pp = j["inbound"]["per_process"];
  // The child starts with this process's limits: the binding one is the soft
  // limit when below the hard one, else the hard one; 5 fds are the program's own.
  std::string expect = rl.rlim_cur < rl.rlim_max ? "rlimit_nofile_soft" : "rlimit_nofile_hard";
  EXPECT_EQ(pp["binding"], expect);
  EXPECT_EQ(pp["ceiling"].get<uint64_t>(), uint64_t(rl.rlim_cur) - 5);
  std::string box = j["inbound"]["box"]["binding"];
  EXPECT_TRUE(box == "memory" || box == "fs.file-max" || box == "cgroup_memory" ||
              box == "net.netfilter.nf_conntrack_max") << box;
  EXPECT_GT(j["memory"]["per_end_bytes"].get<uint64_t>(), 1000u);
}

TEST(Limits, ExplainTellsTheStory) {
  RunResult r = RunTcpmax({"limits", "--explain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("The binding limit is"), std::string::npos);
  EXPECT_NE(r.out.find("4-tuple"), std::string::npos);
}

TEST(Limits, SnapshotReplaysStockDistro) {
  json j = Json(RunTcpmax({"limits", "--json", "--snapshot", Snapshots() + "stock-distro"}));
  EXPECT_EQ(j["inbound"]["total"]["binding"], "rlimit_nofile_soft");
  EXPECT_EQ(j["inbound"]["total"]["ceiling"], 1019);
  EXPECT_EQ(j["memory"]["source"], "fallback");
}

TEST(Limits, SetAnswersWhatIf) {
  json j = Json(RunTcpmax({"limits", "--json", "--snapshot", Snapshots() + "stock-distro", "--set", "nofile=100000",
                           "--set", "mem.available=100M"}));
  // 100 MiB / 3,904 B per connection = 26,859: memory now binds before 100,000 fds.
  EXPECT_EQ(j["inbound"]["total"]["binding"], "memory");
  EXPECT_EQ(j["inbound"]["total"]["ceiling"], 104857600 / 3904);
}

TEST(Limits, RecordThenReplayGivesTheSameCeiling) {
  std::string dir = "/tmp/tcpmax-limits-record-" + std::to_string(getpid());
  RunResult rec = RunTcpmax({"limits", "--json", "--record", dir});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_TRUE(std::filesystem::exists(dir + "/process"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/proc/sys/fs/file-max"));
  json live = json::parse(rec.out);
  json replay = Json(RunTcpmax({"limits", "--json", "--snapshot", dir}));
  std::filesystem::remove_all(dir);
  EXPECT_EQ(replay["inbound"]["per_process"], live["inbound"]["per_process"]);
  EXPECT_EQ(replay["memory"]["per_end_bytes"], live["memory"]["per_end_bytes"]);
  EXPECT_EQ(replay["outbound"]["box"], live["outbound"]["box"]);
}

TEST(Limits, UnknownFlagIsOneLineUsageError) {
  RunResult r = RunTcpmax({"limits", "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos);
}

TEST(Limits, MalformedSetIsOneLineUsageError) {
  for (const char* bad : {"fs.file-max", "fs.file-max=lots", "no.such.key=3", "net.ipv4.ip_local_port_range=9"}) {
    RunResult r = RunTcpmax({"limits", "--set", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(OneLine(r.err)) << r.err;
    EXPECT_NE(r.err.find("--set"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(Limits, UnreadableSnapshotIsOneLineUsageError) {
  RunResult r = RunTcpmax({"limits", "--snapshot", "/nonexistent/snapshot"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/snapshot"), std::string::npos);
  EXPECT_NE(r.err.find("ENOENT"), std::string::npos);
}

TEST(Limits, BadScenarioFlagsAreUsageErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{"limits", "--nat", "oracle"},
                                        {"limits", "--processes", "0"},
                                        {"limits", "--source-ips", "many"},
                                        {"limits", "--bind-no-port", "maybe"}}) {
    RunResult r = RunTcpmax(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_TRUE(OneLine(r.err)) << r.err;
  }
}

}  // namespace
}  // namespace tcpmax::testing

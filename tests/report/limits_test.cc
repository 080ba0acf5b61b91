// Renderers of `tcpmax limits` (report/limits.h): the text table marks the
// binding limit and prints remedies as commands; the JSON carries the schema,
// the verdicts and every reading as a number with its unit in the key;
// --explain shows the arithmetic.
#include <algorithm>

#include <gtest/gtest.h>

#include "report/limits.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::report {
namespace {

using limits::Ceiling;
using limits::Scenario;

Ceiling ThisBox(Scenario sc = {}) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/this-box");
  EXPECT_TRUE(reader);
  return limits::ComputeCeiling(limits::ReadSnapshot(*reader), sc);
}

TEST(LimitsRender, TextMarksBindingLimitAndGivesCommands) {
  std::string text = LimitsText(ThisBox());
  EXPECT_NE(text.find("* RLIMIT_NOFILE (hard)"), std::string::npos) << text;
  EXPECT_NE(text.find("BINDS"), std::string::npos);
  EXPECT_NE(text.find("io_uring direct descriptors"), std::string::npos);
  EXPECT_NE(text.find("more processes: 275 processes"), std::string::npos) << text;
  EXPECT_NE(text.find("6,040,678  MemAvailable: 23,927,128,064 B / 3,961 B"), std::string::npos) << text;
  EXPECT_NE(text.find("passed (CAP_SYS_ADMIN)"), std::string::npos);
  EXPECT_NE(text.find("sysctl -w net.ipv4.ip_local_port_range='1024 65535'"), std::string::npos);
  EXPECT_NE(text.find("= 471 new connections/s"), std::string::npos);
}

TEST(LimitsRender, JsonCarriesSchemaAndVerdicts) {
  nlohmann::json j = LimitsJson(ThisBox());
  EXPECT_EQ(j["schema"], kLimitsSchema);
  EXPECT_EQ(j["inbound"]["total"]["binding"], "rlimit_nofile_hard");
  EXPECT_EQ(j["inbound"]["total"]["ceiling"], 19995);
  EXPECT_EQ(j["inbound"]["box"]["binding"], "memory");
  EXPECT_EQ(j["inbound"]["per_user"]["binding"], "fs.epoll.max_user_watches");
  EXPECT_EQ(j["memory"]["per_end_bytes"], 3961);
  EXPECT_EQ(j["tuple"]["loopback_sources"], 16777214);
  bool marked = false;
  for (const auto& f : j["inbound"]["findings"]) {
    if (f["id"] == "rlimit_nofile_hard") marked = f["binding"].get<bool>() && !f["remedies"].empty();
  }
  EXPECT_TRUE(marked);
}

TEST(LimitsRender, ExplainShowsArithmetic) {
  std::string text = LimitsExplain(ThisBox());
  EXPECT_NE(text.find("20,000 - 5 fds the program keeps = 19,995"), std::string::npos) << text;
  EXPECT_NE(text.find("23,927,128,064 B / 3,961 B per connection = 6,040,678"), std::string::npos);
  EXPECT_NE(text.find("CAP_SYS_ADMIN"), std::string::npos);
}

const nlohmann::json* FindingById(const nlohmann::json& rows, std::string_view id) {
  for (const auto& f : rows) {
    if (f["id"] == id) return &f;
  }
  return nullptr;
}

TEST(LimitsRender, JsonReadingsAreNumbersWithUnitsInKeys) {
  nlohmann::json j = LimitsJson(ThisBox());
  const auto* hard = FindingById(j["inbound"]["findings"], "rlimit_nofile_hard");
  ASSERT_NE(hard, nullptr);
  EXPECT_EQ(hard->at("observed"), (nlohmann::json{{"hard", 20000}}));
  const auto* mem = FindingById(j["inbound"]["findings"], "memory");
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(mem->at("observed")["mem_available_bytes"], 23927128064u);
  const auto* files = FindingById(j["inbound"]["findings"], "fs.file-max");
  ASSERT_NE(files, nullptr);
  EXPECT_EQ(files->at("observed"), (nlohmann::json{{"value", 2466170}, {"in_use", 130718}}));
  const auto* ports = FindingById(j["outbound"]["findings"], "net.ipv4.ip_local_port_range");
  ASSERT_NE(ports, nullptr);
  EXPECT_EQ(ports->at("observed")["range"], (nlohmann::json{32768, 60999}));
  EXPECT_EQ(ports->at("observed")["ports"], 28232);
  const auto* cgroup = FindingById(j["inbound"]["findings"], "cgroup_memory");
  ASSERT_NE(cgroup, nullptr);
  EXPECT_TRUE(cgroup->at("observed")["max_bytes"].is_null()) << *cgroup;  // "max": no limit
  EXPECT_EQ(cgroup->at("observed")["current_bytes"], 33193984);
  const auto* conntrack = FindingById(j["inbound"]["findings"], "net.netfilter.nf_conntrack_max");
  ASSERT_NE(conntrack, nullptr);
  EXPECT_EQ(conntrack->at("observed"),
            (nlohmann::json{{"loaded", true}, {"max", 262144}, {"count", 0}, {"buckets", 262144}}));
  const auto* rmem = FindingById(j["queues"], "net.ipv4.tcp_rmem");
  ASSERT_NE(rmem, nullptr);
  EXPECT_EQ(rmem->at("observed"),
            (nlohmann::json{{"min_bytes", 4096}, {"default_bytes", 131072}, {"max_bytes", 33554432}}));
  EXPECT_EQ(FindingById(j["queues"], "net.ipv4.tcp_fin_timeout")->at("observed")["seconds"], 60);
  EXPECT_EQ(j["memory"]["items"][0]["objsize_bytes"], 2368);
}

// No reading anywhere in the document is formatted text: every "observed" is
// an object of numbers, lists of numbers, booleans or null (no bound).
TEST(LimitsRender, JsonHasNoReadingAsText) {
  nlohmann::json j = LimitsJson(ThisBox());
  size_t rows = 0;
  for (const nlohmann::json* list : {&j["inbound"]["findings"], &j["outbound"]["findings"], &j["queues"]}) {
    for (const auto& f : *list) {
      ++rows;
      ASSERT_TRUE(f["known"].get<bool>()) << f;
      ASSERT_TRUE(f["observed"].is_object()) << f;
      EXPECT_FALSE(f["observed"].empty()) << f;
      for (const auto& [key, v] : f["observed"].items()) {
        bool numbers = v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number(); });
        EXPECT_TRUE(v.is_number() || v.is_boolean() || v.is_null() || numbers) << f["id"] << "." << key << " = " << v;
      }
    }
  }
  EXPECT_EQ(rows, 14u + 14u + 8u);
}

TEST(LimitsRender, UnknownReadingsAreNullInJsonAndListedInText) {
  limits::Snapshot empty;
  empty.unknown["meminfo"] = "open /proc/meminfo: ENOENT";
  Ceiling c = limits::ComputeCeiling(empty, Scenario{});
  nlohmann::json j = LimitsJson(c);
  const auto* mem = FindingById(j["inbound"]["findings"], "memory");
  ASSERT_NE(mem, nullptr);
  EXPECT_FALSE(mem->at("known").get<bool>());
  EXPECT_TRUE(mem->at("observed").is_null());
  EXPECT_EQ(j["unknown"]["meminfo"], "open /proc/meminfo: ENOENT");
  std::string text = LimitsText(c);
  EXPECT_NE(text.find("UNKNOWN READINGS"), std::string::npos) << text;
  EXPECT_NE(text.find("meminfo: open /proc/meminfo: ENOENT"), std::string::npos) << text;
}

}  // namespace
}  // namespace tcpmax::report

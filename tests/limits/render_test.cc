// Renderers: the text table marks the binding limit and prints remedies as
// commands; the JSON carries the schema and the verdicts; --explain shows
// the arithmetic.
#include <gtest/gtest.h>

#include "limits/render.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::limits {
namespace {

Ceiling ThisBox(Scenario sc = {}) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/this-box");
  EXPECT_TRUE(reader);
  return ComputeCeiling(ReadSnapshot(*reader), sc);
}

TEST(Render, TextMarksBindingLimitAndGivesCommands) {
  std::string text = RenderText(ThisBox());
  EXPECT_NE(text.find("* RLIMIT_NOFILE (hard)"), std::string::npos) << text;
  EXPECT_NE(text.find("BINDS"), std::string::npos);
  EXPECT_NE(text.find("io_uring direct descriptors"), std::string::npos);
  EXPECT_NE(text.find("more processes: 275 processes"), std::string::npos) << text;
  EXPECT_NE(text.find("6,128,875  MemAvailable: 23,927,128,064 B / 3,904 B"), std::string::npos) << text;
  EXPECT_NE(text.find("passed (CAP_SYS_ADMIN)"), std::string::npos);
  EXPECT_NE(text.find("sysctl -w net.ipv4.ip_local_port_range='1024 65535'"), std::string::npos);
  EXPECT_NE(text.find("= 471 new connections/s"), std::string::npos);
}

TEST(Render, JsonCarriesSchemaAndVerdicts) {
  nlohmann::json j = ToJson(ThisBox());
  EXPECT_EQ(j["schema"], kJsonSchema);
  EXPECT_EQ(j["inbound"]["total"]["binding"], "rlimit_nofile_hard");
  EXPECT_EQ(j["inbound"]["total"]["ceiling"], 19995);
  EXPECT_EQ(j["inbound"]["box"]["binding"], "memory");
  EXPECT_EQ(j["inbound"]["per_user"]["binding"], "fs.epoll.max_user_watches");
  EXPECT_EQ(j["memory"]["per_end_bytes"], 3904);
  EXPECT_EQ(j["tuple"]["loopback_sources"], 16777214);
  bool marked = false;
  for (const auto& f : j["inbound"]["findings"]) {
    if (f["id"] == "rlimit_nofile_hard") marked = f["binding"].get<bool>() && !f["remedies"].empty();
  }
  EXPECT_TRUE(marked);
}

TEST(Render, ExplainShowsArithmetic) {
  std::string text = RenderExplain(ThisBox());
  EXPECT_NE(text.find("20,000 - 5 fds the program keeps = 19,995"), std::string::npos) << text;
  EXPECT_NE(text.find("23,927,128,064 B / 3,904 B per connection = 6,128,875"), std::string::npos);
  EXPECT_NE(text.find("CAP_SYS_ADMIN"), std::string::npos);
}

}  // namespace
}  // namespace tcpmax::limits

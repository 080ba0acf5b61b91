#include "report/load.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tcpmax::report {
namespace {

load::LoadStats Sample() {
  load::LoadStats s;
  s.target = 100;
  s.attempted = 100;
  s.opened = 90;
  s.failed = 10;
  s.closed = 3;
  s.t = 1.5;
  s.ramp_seconds = 0.25;
  s.errors.Record(EADDRNOTAVAIL);
  s.errors.Record(limits::kTimeoutErrno);
  for (uint64_t v = 1000; v < 100000; v += 1000) s.connect_ns.Record(v);
  return s;
}

load::LoadRun PlannedRun() {
  load::LoadRun run;
  run.options.connections = 100;
  run.options.engine = Engine::kEpoll;
  run.processes = 2;
  run.workers = 1;
  return run;
}

TEST(LoadReport, ProgressJsonHasItsFieldsWithUnits) {
  nlohmann::json p = LoadProgressJson(Sample(), 123.5, false);
  for (const char* key : {"type", "t_seconds", "target", "opened", "held", "failed", "rate_per_second", "errors",
                          "rss_bytes"}) {
    EXPECT_TRUE(p.contains(key)) << key;
  }
  EXPECT_EQ(p["type"], "progress");
  EXPECT_EQ(p["held"].get<uint64_t>(), 87u);
  EXPECT_EQ(p["errors"]["EADDRNOTAVAIL"].get<int>(), 1);
  EXPECT_EQ(p["errors"]["ETIMEDOUT"].get<int>(), 1);
  EXPECT_EQ(LoadProgressJson(Sample(), 1, true)["type"], "done");
}

TEST(LoadReport, SummaryJsonIsVersionedWithNumbersAndRemedies) {
  nlohmann::json sum = LoadSummaryJson(Sample(), PlannedRun(), false);
  EXPECT_EQ(sum["schema"], "tcpmax.load/3");
  EXPECT_EQ(sum["processes"].get<int>(), 2);
  EXPECT_GT(sum["connect_time"]["p99_ns"].get<uint64_t>(), 0u);
  EXPECT_DOUBLE_EQ(sum["rate_per_second"].get<double>(), 90 / 0.25);
  ASSERT_EQ(sum["error_detail"].size(), 2u);
  EXPECT_FALSE(sum["error_detail"][0]["remedy"].get<std::string>().empty());
}

TEST(LoadReport, SummaryTextNamesEveryErrorClassAndItsRemedy) {
  std::string text = LoadSummaryText(Sample(), PlannedRun(), true);
  EXPECT_NE(text.find("(interrupted)"), std::string::npos);
  EXPECT_NE(text.find("EADDRNOTAVAIL x 1"), std::string::npos) << text;
  EXPECT_NE(text.find("remedy:"), std::string::npos);
}

}  // namespace
}  // namespace tcpmax::report

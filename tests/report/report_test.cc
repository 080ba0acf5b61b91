#include <gtest/gtest.h>

#include "report/html_report.h"
#include "report/json_report.h"
#include "report/svg_chart.h"
#include "report/text_report.h"

namespace tcpmax::report {
namespace {

probe::ProbeReport Sample() {
  probe::PlanInput in;
  in.target = 20000;
  in.nofile_hard = 20000;
  in.uring_direct = true;
  probe::ProbeReport r;
  r.plan = *probe::MakePlan(in);
  r.target = 20000;
  r.engine = "serve uring, load epoll";
  r.kernel = "6.18.0";
  r.cores = 2;
  r.mem_total = 24ull << 30;
  r.reached = 20000;
  r.verified = true;
  r.verification = probe::Judge({20000, 20000, 20000, 20000});
  r.target_reached = true;
  r.stop_reason = probe::StopReason::kTarget;
  r.binding_limit = "none: the target was reached";
  r.errors = {{"EADDRNOTAVAIL", 3}};
  for (int i = 1; i <= 5; ++i) {
    probe::Sample s;
    s.t = i;
    s.established = 4000u * i;
    s.opened = 4000u * i;
    s.mem_used = 6500 * 4000 * i;
    s.kernel = s.mem_used;
    s.slab = 5000 * 4000 * i;
    r.samples.push_back(s);
  }
  std::vector<probe::Point> pts;
  for (const auto& s : r.samples) pts.push_back({double(s.established), double(s.mem_used)});
  r.kernel_fit = probe::FitLine(pts);
  r.kernel_bytes = r.kernel_fit.slope;
  r.predicted_ceiling = 2'400'000;
  r.predicted_binding = "fs.file-max";
  r.predicted_binding_id = "fs.file-max";
  r.predicted = {{"fs.file-max", "fs.file-max", 1'200'000, true}, {"memory", "MemAvailable", 3'300'000, false}};
  return r;
}

TEST(JsonReport, SchemaAndFields) {
  auto j = ProbeToJson(Sample());
  EXPECT_EQ(j["schema"], "tcpmax.probe/2");
  EXPECT_EQ(j["result"]["reached"], 20000);
  EXPECT_EQ(j["result"]["verification"]["server_established"], 20000);
  EXPECT_EQ(j["result"]["verification"]["ok"], true);
  EXPECT_EQ(j["result"]["failed"], false);
  EXPECT_EQ(j["result"]["stop_reason"], "target reached");
  EXPECT_EQ(j["result"]["errors"]["EADDRNOTAVAIL"], 3);
  EXPECT_EQ(j["memory"]["kernel"]["bytes_per_connection"], 6500);
  EXPECT_EQ(j["plan"]["server"], "127.0.0.1:7000-7001");
  EXPECT_EQ(j["samples"].size(), 5u);
  EXPECT_EQ(j["prediction"]["limits"][0]["binding"], true);
  EXPECT_EQ(j["prediction"]["limits"][0]["id"], "fs.file-max");
  EXPECT_EQ(j["prediction"]["binding_id"], "fs.file-max");
}

TEST(TextReport, NamesMeasuredPredictedAndPerConnection) {
  std::string t = ProbeToText(Sample());
  EXPECT_NE(t.find("measured         20,000 connections"), std::string::npos) << t;
  EXPECT_NE(t.find("predicted  2,400,000 connections on loopback, bound by fs.file-max"), std::string::npos) << t;
  EXPECT_NE(t.find("kernel     6.35 KiB per connection"), std::string::npos) << t;
  EXPECT_NE(t.find("verified   yes"), std::string::npos) << t;
}

TEST(TextReport, AFailedVerificationIsLoud) {
  probe::ProbeReport r = Sample();
  r.verification = probe::Judge({247'631, 2'535'272, 2'535'272, 2'535'272});
  EXPECT_TRUE(r.failed());
  std::string t = ProbeToText(r);
  EXPECT_NE(t.find("verified   NO"), std::string::npos) << t;
  EXPECT_NE(t.find("FAILED: half-open"), std::string::npos) << t;
  EXPECT_EQ(ProbeToJson(r)["result"]["failed"], true);
}

TEST(HtmlReport, SelfContainedWithThreeCharts) {
  std::string h = ProbeToHtml(Sample());
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  size_t svgs = 0;
  for (size_t p = 0; (p = h.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(h.find("<polyline"), std::string::npos);  // connections over time
  EXPECT_NE(h.find("<circle"), std::string::npos);    // memory samples
  EXPECT_NE(h.find("fit: 6.35 KiB per connection"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("http://"), h.find("http://www.w3.org/2000/svg"));  // no external resources
}

TEST(SvgChart, NiceTicksAndLabels) {
  auto t = NiceTicks(0, 97, 5);
  EXPECT_EQ(t.front(), 0);
  EXPECT_GE(t.back(), 97);
  EXPECT_LE(t.size(), 8u);
  EXPECT_EQ(TickLabel(1500000), "1.5M");
  EXPECT_EQ(TickLabel(20000), "20k");
  EXPECT_EQ(TickLabel(12), "12");
  EXPECT_EQ(XmlEscape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

TEST(SvgChart, LogBarsMarkBinding) {
  std::string svg = LogBarChart({"t", "x", ""}, {{"fs.file-max", 1e6, true, false}, {"memory", 3e6, false, false}});
  EXPECT_NE(svg.find("#d1495b"), std::string::npos);
  EXPECT_NE(svg.find("fs.file-max"), std::string::npos);
}

}  // namespace
}  // namespace tcpmax::report

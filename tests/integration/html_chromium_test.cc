// The probe's HTML report opened in headless Chromium (Debian's chromium):
// the three SVG charts lay out with non-empty boxes and shapes, the page logs
// no console errors, and a screenshot is saved under the build folder.
#include <unistd.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "harness.h"
#include "probe/fit.h"
#include "probe/plan.h"
#include "report/html_report.h"

namespace tcpmax::testing {
namespace {

probe::ProbeReport MadeUpClimb() {
  probe::PlanInput in;
  in.target = 50000;
  in.nofile_hard = 20000;
  in.uring_direct = true;
  probe::ProbeReport r;
  r.plan = *probe::MakePlan(in);
  r.target = 50000;
  r.reached = 50000;
  r.stop_reason = probe::StopReason::kTarget;
  r.binding_limit = "none: the target was reached";
  std::vector<probe::Point> pts;
  for (int i = 1; i <= 12; ++i) {
    probe::Sample s;
    s.t = i;
    s.established = 4100u * i;
    s.opened = 4200u * i;
    s.mem_used = 6600 * 4100 * i + (i % 3) * 300000;
    s.kernel = s.mem_used;
    s.slab = 5100 * 4100 * i;
    r.samples.push_back(s);
    pts.push_back({double(s.established), double(s.kernel)});
  }
  r.kernel_fit = probe::FitLine(pts);
  r.kernel_bytes = r.kernel_fit.slope;
  r.predicted = {{"rlimit_nofile_hard", "RLIMIT_NOFILE (hard)", 19995, false},
                 {"fs.file-max", "fs.file-max", 1200000, true},
                 {"memory", "MemAvailable", 3300000, false}};
  r.predicted_ceiling = 1200000;
  return r;
}

// Appended only to the test's copy: reports each chart's rendered box.
constexpr const char* kCheckScript = R"(<script>
const out = [];
document.querySelectorAll('svg').forEach((s, i) => {
  const b = s.getBoundingClientRect();
  const shapes = s.querySelectorAll('polyline,circle,rect,line').length;
  let drawn = 0;
  s.querySelectorAll('polyline,circle,rect').forEach(e => { const r = e.getBBox(); if (r.width > 0 || r.height > 0) drawn++; });
  out.push(`svg${i}:${Math.round(b.width)}x${Math.round(b.height)}:drawn=${drawn}`);
});
const d = document.createElement('div'); d.id = 'render-check'; d.textContent = out.join(' ');
document.body.appendChild(d);
</script>)";

TEST(HtmlReport, RendersChartsInHeadlessChromium) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "SKIPPED: /usr/bin/chromium missing (scripts/install-deps installs it)";
  std::string dir = std::string(TCPMAX_BUILD_DIR) + "/html-report-test";
  ASSERT_EQ(RunShell("mkdir -p " + dir).exit_code, 0);
  std::string page = report::ProbeToHtml(MadeUpClimb());
  std::ofstream(dir + "/report.html") << page;
  std::string checked = page;
  checked.insert(checked.rfind("</body>"), kCheckScript);
  std::ofstream(dir + "/report-check.html") << checked;

  std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
      "--disable-component-update --disable-sync --user-data-dir=" + dir + "/profile --window-size=1000,1500 ";
  RunResult dom = RunShell("chromium " + flags + "--enable-logging=stderr --v=0 --dump-dom file://" + dir +
                           "/report-check.html", 90);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  std::smatch m;
  std::regex re("svg(\\d):(\\d+)x(\\d+):drawn=(\\d+)");
  int charts = 0;
  for (auto it = std::sregex_iterator(dom.out.begin(), dom.out.end(), re); it != std::sregex_iterator(); ++it) {
    ++charts;
    EXPECT_GT(std::stoi((*it)[2]), 300) << it->str();
    EXPECT_GT(std::stoi((*it)[3]), 100) << it->str();
    EXPECT_GT(std::stoi((*it)[4]), 3) << it->str();
  }
  EXPECT_EQ(charts, 3) << dom.out.substr(0, 2000);
  // Chromium logs page console messages as "CONSOLE(...)" or "Uncaught".
  EXPECT_EQ(dom.err.find("Uncaught"), std::string::npos) << dom.err;
  EXPECT_EQ(dom.err.find(":CONSOLE("), std::string::npos) << dom.err;

  RunResult shot = RunShell("chromium " + flags + "--screenshot=" + dir + "/report.png file://" + dir + "/report.html", 90);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::ifstream png(dir + "/report.png", std::ios::binary | std::ios::ate);
  EXPECT_GT(static_cast<long>(png.tellg()), 20000) << "screenshot too small to hold the charts";
}

}  // namespace
}  // namespace tcpmax::testing

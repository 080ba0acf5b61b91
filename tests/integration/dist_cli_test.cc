// Distributed runs on loopback, without a launcher or privileges:
//  - two ranks by hand (--rank/--size) against one tcpmax serve, each writing
//    its rank file; tcpmax merge sums them exactly (= serve's count), its
//    histogram is the bucket sum of the ranks', and p99 <= max;
//  - --metrics scraped during a load and a serve with Debian's
//    python3-prometheus-client agrees with the final JSON;
//  - bad input: one line, exit 2, nothing left behind.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dist/rank_result.h"
#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fmt::format("/tmp/tcpmax-dist-test-{}-{}", ::getpid(), counter_++)) { fs::remove_all(path_); }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, false);
}

// One line on stderr, naming `what`, exit 2.
void ExpectUsage(const RunResult& r, const std::string& what) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
}

TEST(DistCli, TwoRanksByHandMergeExactly) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--engine", "epoll"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  TempDir dir;
  std::string target = fmt::format("127.0.0.1:{}", serve.port());
  std::string base = fmt::format("{} load {} -n 3001 --hold 1s --results {} --run-id t2 --size 2 --json",
                                 TCPMAX_BINARY, target, dir.path());
  RunResult r = RunShell(base + " --rank 0 > " + dir.path() + ".0 & " + base + " --rank 1 > " + dir.path() +
                             ".1; wait",
                         90);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rank 0 of 2 (flags): connections #0..#1500 (1,501 of 3,001)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rank 1 of 2 (flags): connections #1501..#3000 (1,500 of 3,001)"), std::string::npos) << r.err;
  std::string rank0 = dir.path() + "/t2-rank0.json", rank1 = dir.path() + "/t2-rank1.json";
  auto a = dist::RankResultFromJson(ReadJson(rank0));
  auto b = dist::RankResultFromJson(ReadJson(rank1));
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_TRUE(b) << b.error().ToString();
  // The two slices of the loopback sources do not overlap.
  EXPECT_LE(a->source_first + a->source_count, b->source_first);
  // Each rank's file agrees with its own --json summary.
  auto summary0 = nlohmann::json::parse(std::ifstream(dir.path() + ".0"), nullptr, false);
  EXPECT_EQ(summary0["opened"].get<uint64_t>(), a->totals.opened);
  EXPECT_EQ(summary0["connect_time"]["p99_ns"].get<uint64_t>(), a->totals.connect_ns.Quantile(0.99));
  fs::remove(dir.path() + ".0");
  fs::remove(dir.path() + ".1");

  RunResult m = RunTcpmax({"merge", rank0, rank1, "--json", "--html", dir.path() + "/merged.html"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  auto j = nlohmann::json::parse(m.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << m.out;
  EXPECT_EQ(j["schema"], "tcpmax.merge/1");
  EXPECT_EQ(j["opened"].get<uint64_t>(), 3001u);
  EXPECT_EQ(j["failed"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["held"].get<uint64_t>(), 3001u);
  // serve saw exactly what the merge says was opened.
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(serve.summary()["accepted"].get<uint64_t>(), 3001u) << serve.summary().dump();
  // The merged histogram is the bucket sum of the two, and p99 <= max.
  Histogram sum = a->totals.connect_ns;
  sum.Merge(b->totals.connect_ns);
  auto merged = dist::HistogramFromJson(j["connect_time"]["histogram"]);
  ASSERT_TRUE(merged) << merged.error().ToString();
  EXPECT_EQ(*merged, sum);
  EXPECT_EQ(merged->count(), 3001u);
  EXPECT_LE(j["connect_time"]["p99_ns"].get<uint64_t>(), j["connect_time"]["max_ns"].get<uint64_t>());
  std::ifstream html(dir.path() + "/merged.html");
  std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<td id=\"opened\">3,001</td>"), std::string::npos);
  // Text form names the run and both ranks.
  RunResult text = RunTcpmax({"merge", rank0, rank1});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("run t2: 2 of 2 ranks merged"), std::string::npos) << text.out;
}

TEST(DistCli, MetricsScrapedDuringTheRunAgreeWithTheFinalJson) {
  ServeProcess serve({"--listen", "127.0.0.1:0", "--engine", "epoll", "--metrics", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  TempDir dir;
  fs::create_directories(dir.path());
  std::string scraper = std::string(TCPMAX_SOURCE_DIR) + "/tests/integration/scrape_metrics.py";
  std::string err = dir.path() + "/load.err", out = dir.path() + "/load.json";
  // Load holds for 4 s after its ramp; the scrape waits until all 2,000 are
  // open (the figures then stay put until the end).
  std::string cmd = fmt::format(
      "{bin} load 127.0.0.1:{port} -n 2000 --hold 4s --interval 100ms --metrics 127.0.0.1:0 --json > {out} 2> {err} & "
      "for i in $(seq 100); do grep -q 'metrics on' {err} && break; sleep 0.1; done; "
      "url=$(grep -o 'http://[0-9.:]*/metrics' {err}); "
      "/usr/bin/python3 {scraper} $url tcpmax_load_opened_total 2000; wait",
      fmt::arg("bin", TCPMAX_BINARY), fmt::arg("port", serve.port()), fmt::arg("out", out), fmt::arg("err", err),
      fmt::arg("scraper", scraper));
  RunResult r = RunShell(cmd, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scraped = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(scraped.is_object()) << r.out << r.err;
  nlohmann::json final_json = ReadJson(out);
  ASSERT_TRUE(final_json.is_object());
  EXPECT_EQ(scraped["tcpmax_load_opened_total"].get<double>(), final_json["opened"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_attempted_total"].get<double>(), final_json["attempted"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_failed_total"].get<double>(), final_json["failed"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_held"].get<double>(), final_json["held"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_target"].get<double>(), final_json["target"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_connect_seconds_count"].get<double>(),
            final_json["connect_time"]["count"].get<double>());
  EXPECT_EQ(scraped["tcpmax_load_connect_seconds_bucket{le=\"+Inf\"}"].get<double>(), 2000.0);
  // The bucket at or above the final JSON's max holds every sample; the
  // final p50 lies at a bound whose cumulative count is at least half.
  double max_s = final_json["connect_time"]["max_ns"].get<double>() / 1e9;
  double p50_s = final_json["connect_time"]["p50_ns"].get<double>() / 1e9;
  for (const auto& [key, v] : scraped.items()) {
    if (key.rfind("tcpmax_load_connect_seconds_bucket{le=\"", 0) != 0 || key.find("+Inf") != std::string::npos) continue;
    double le = std::stod(key.substr(key.find('"') + 1));
    if (le >= max_s) {
      EXPECT_EQ(v.get<double>(), 2000.0) << key;
    }
    if (le >= p50_s) {
      EXPECT_GE(v.get<double>(), 1000.0) << key;
    }
  }
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(serve.summary()["accepted"].get<uint64_t>(), 2000u);
}

TEST(DistCli, ServeMetricsAgreeWithItsSummary) {
  TempDir dir;
  fs::create_directories(dir.path());
  std::string scraper = std::string(TCPMAX_SOURCE_DIR) + "/tests/integration/scrape_metrics.py";
  std::string err = dir.path() + "/serve.err", out = dir.path() + "/serve.json";
  uint16_t port = UnusedLoopbackPort();
  std::string cmd = fmt::format(
      "{bin} serve --listen 127.0.0.1:{port} --engine epoll --duration 6s --interval 100ms --metrics 127.0.0.1:0 "
      "--json > {out} 2> {err} & "
      "for i in $(seq 100); do grep -q 'metrics on' {err} && break; sleep 0.1; done; "
      "url=$(grep -o 'http://[0-9.:]*/metrics' {err}); "
      "{bin} load 127.0.0.1:{port} -n 1500 --hold 3s > /dev/null 2>&1 & "
      "/usr/bin/python3 {scraper} $url tcpmax_serve_held 1500; wait",
      fmt::arg("bin", TCPMAX_BINARY), fmt::arg("port", port), fmt::arg("out", out), fmt::arg("err", err),
      fmt::arg("scraper", scraper));
  RunResult r = RunShell(cmd, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scraped = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(scraped.is_object()) << r.out << r.err;
  nlohmann::json final_json = ReadJson(out);
  ASSERT_TRUE(final_json.is_object());
  EXPECT_EQ(scraped["tcpmax_serve_held"].get<double>(), 1500.0);
  EXPECT_EQ(scraped["tcpmax_serve_accepted_total"].get<double>(), final_json["accepted"].get<double>());
}

TEST(DistCli, CountWatchMetricsAgreeWithItsJsonLines) {
  TempDir dir;
  fs::create_directories(dir.path());
  std::string scraper = std::string(TCPMAX_SOURCE_DIR) + "/tests/integration/scrape_metrics.py";
  uint16_t port = UnusedLoopbackPort();
  std::string err = dir.path() + "/count.err", out = dir.path() + "/count.json";
  std::string cmd = fmt::format(
      "{bin} serve --listen 127.0.0.1:{port} --engine epoll --duration 8s > /dev/null 2>&1 & sleep 0.3; "
      "{bin} load 127.0.0.1:{port} -n 700 --hold 5s > /dev/null 2>&1 & "
      "{bin} count --watch 100ms --iterations 40 --lport {port} --state established --json "
      "--metrics 127.0.0.1:0 > {out} 2> {err} & "
      "for i in $(seq 100); do grep -q 'metrics on' {err} && break; sleep 0.1; done; "
      "url=$(grep -o 'http://[0-9.:]*/metrics' {err}); "
      "/usr/bin/python3 {scraper} $url tcpmax_count_total 700; wait",
      fmt::arg("bin", TCPMAX_BINARY), fmt::arg("port", port), fmt::arg("out", out), fmt::arg("err", err),
      fmt::arg("scraper", scraper));
  RunResult r = RunShell(cmd, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scraped = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(scraped.is_object()) << r.out << r.err;
  // 700 held connections: the server's end on --lport, established.
  EXPECT_EQ(scraped["tcpmax_count_total"].get<double>(), 700.0);
  EXPECT_EQ(scraped["tcpmax_count_connections{state=\"established\"}"].get<double>(), 700.0);
  // And a JSON line of the same watch said so too.
  std::ifstream lines(out);
  std::string line;
  bool seen = false;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("total") && j["total"] == 700) seen = true;
  }
  EXPECT_TRUE(seen);
}

TEST(DistCli, ProbeMetricsAgreeWithItsReport) {
  TempDir dir;
  fs::create_directories(dir.path());
  std::string scraper = std::string(TCPMAX_SOURCE_DIR) + "/tests/integration/scrape_metrics.py";
  std::string err = dir.path() + "/probe.err", out = dir.path() + "/probe.json";
  // The probe holds its 3,000 for 3 s after reaching them; the scrape waits
  // for the held gauge to reach them.
  std::string cmd = fmt::format(
      "{bin} probe --target 3000 --hold 3s --json --metrics 127.0.0.1:0 > {out} 2> {err} & "
      "for i in $(seq 100); do grep -q 'metrics on' {err} && break; sleep 0.1; done; "
      "url=$(grep -o 'http://[0-9.:]*/metrics' {err}); "
      "/usr/bin/python3 {scraper} $url tcpmax_probe_held 3000; wait",
      fmt::arg("bin", TCPMAX_BINARY), fmt::arg("out", out), fmt::arg("err", err), fmt::arg("scraper", scraper));
  RunResult r = RunShell(cmd, 90);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto scraped = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(scraped.is_object()) << r.out << r.err;
  nlohmann::json report = ReadJson(out);
  ASSERT_TRUE(report.is_object()) << r.err;
  EXPECT_EQ(scraped["tcpmax_probe_held"].get<double>(), report["result"]["reached"].get<double>());
  EXPECT_EQ(scraped["tcpmax_probe_held"].get<double>(), 3000.0);
  EXPECT_EQ(scraped["tcpmax_probe_failed_total"].get<double>(), 0.0);
}

TEST(DistCli, BadInputIsOneLineExit2) {
  TempDir dir;
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--rank", "0", "--size", "2", "--results", dir.path()}),
              "needs a run id every rank shares");
  EXPECT_FALSE(fs::exists(dir.path()));
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--rank", "1"}), "--rank needs --size");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--rank", "4", "--size", "4"}),
              "--rank 4 is not below --size 4");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--start-at", "2020-01-01T00:00:00Z"}), "in the past");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--start-at", "soon"}), "--start-at 'soon'");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--metrics", "nowhere"}), "--metrics");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--netns", "tcpmax-no-such-ns"}), "--netns");
  ExpectUsage(RunTcpmax({"count", "--metrics", "127.0.0.1:0"}), "--metrics needs --watch");
  ExpectUsage(RunTcpmax({"load", "127.0.0.1:9", "-n", "10", "--results", dir.path(), "--run-id", "../x"}),
              "run id");
  EXPECT_FALSE(fs::exists(dir.path()));  // nothing left behind
  // Merge inputs from two runs.
  fs::create_directories(dir.path());
  auto write_rank = [&](const std::string& run, int rank) {
    dist::RankResult r;
    r.run_id = run;
    r.rank = rank;
    r.size = 2;
    std::string path = dir.path() + "/" + dist::RankFileName(run, rank);
    std::ofstream(path) << dist::RankResultToJson(r).dump();
    return path;
  };
  std::string a = write_rank("run-a", 0), b = write_rank("run-b", 1);
  RunResult m = RunTcpmax({"merge", a, b, "--html", dir.path() + "/out.html"});
  ExpectUsage(m, "run id mismatch: rank 0 is from run 'run-a', rank 1 from run 'run-b'");
  EXPECT_TRUE(m.out.empty());
  EXPECT_FALSE(fs::exists(dir.path() + "/out.html"));
  ExpectUsage(RunTcpmax({"merge", dir.path() + "/missing.json"}), "missing.json");
}

}  // namespace
}  // namespace tcpmax::testing

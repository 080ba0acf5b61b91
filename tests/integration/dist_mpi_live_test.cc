// The MPI transport (built with -DTCPMAX_MPI=ON; `make` turns it on when
// mpicc is installed): under mpirun every rank measures its clock offset to
// rank 0, waits at a barrier, and the ranks reduce their live totals once a
// second, so rank 0 prints one line for the whole job and --stop-when stops
// every rank on the job's totals. Loopback only; no privileges needed.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

namespace fs = std::filesystem;

#if TCPMAX_MPI
constexpr bool kMpiBuilt = true;
#else
constexpr bool kMpiBuilt = false;
#endif

#define REQUIRE_MPI()                                                                                  \
  do {                                                                                                 \
    if (!kMpiBuilt) GTEST_SKIP() << "SKIPPED: built without -DTCPMAX_MPI=ON (make turns it on with mpicc)"; \
    if (RunShell("command -v mpirun").exit_code != 0) GTEST_SKIP() << "SKIPPED: mpirun not installed";   \
  } while (0)

std::string Mpirun(int ranks) { return fmt::format("mpirun -np {} --oversubscribe --allow-run-as-root ", ranks); }

TEST(DistMpiLive, JobLineClockOffsetsAndBarrier) {
  REQUIRE_MPI();
  ServeProcess serve({"--listen", "127.0.0.1:0", "--engine", "epoll"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  std::string dir = fmt::format("/tmp/tcpmax-mpi-live-{}", ::getpid());
  fs::remove_all(dir);
  RunResult r = RunShell(Mpirun(3) + fmt::format("{} load 127.0.0.1:{} -n 6000 --rate 3k/s --hold 1s --results {} "
                                                 "--run-id live3",
                                                 TCPMAX_BINARY, serve.port(), dir),
                         120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // One job-wide line from rank 0 with every rank's figures in it.
  EXPECT_NE(r.err.find("tcpmax: job: opened 6,000/6,000  held 6,000  failed 0  (3 ranks, 3 done)"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("load: opened"), std::string::npos) << "per-rank progress lines under MPI:\n" << r.err;
  for (int i = 0; i < 3; ++i) {
    std::ifstream in(fmt::format("{}/live3-rank{}.json", dir, i));
    auto j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_TRUE(j.is_object()) << i;
    ASSERT_TRUE(j["clock_offset_ns"].is_number()) << j.dump();
    if (i == 0) {
      EXPECT_EQ(j["clock_offset_ns"].get<int64_t>(), 0);
    }
    // One clock on one box: the measured offset is the round trip's noise.
    EXPECT_LT(std::abs(j["clock_offset_ns"].get<int64_t>()), 1'000'000'000) << j.dump();
  }
  fs::remove_all(dir);
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(serve.summary()["accepted"].get<uint64_t>(), 6000u);
}

TEST(DistMpiLive, StopWhenStopsEveryRankOnTheJobTotals) {
  REQUIRE_MPI();
  uint16_t closed = UnusedLoopbackPort();  // nothing listens: every attempt fails (ECONNREFUSED)
  std::string dir = fmt::format("/tmp/tcpmax-mpi-stop-{}", ::getpid());
  fs::remove_all(dir);
  RunResult r = RunShell(Mpirun(3) + fmt::format("{} load 127.0.0.1:{} -n 300k --rate 3k/s --stop-when 'failed>1%' "
                                                 "--results {} --run-id stop3",
                                                 TCPMAX_BINARY, closed, dir),
                         120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t reasons = 0;
  for (size_t at = 0; (at = r.err.find("load: stopped by failed>1%", at)) != std::string::npos; ++at) ++reasons;
  EXPECT_EQ(reasons, 3u) << r.err;
  uint64_t attempted = 0;
  for (int i = 0; i < 3; ++i) {
    std::ifstream in(fmt::format("{}/stop3-rank{}.json", dir, i));
    auto j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_TRUE(j.is_object()) << i;
    attempted += j["totals"]["attempted"].get<uint64_t>();
    EXPECT_EQ(j["totals"]["failed"], j["totals"]["attempted"]);
  }
  // 1% of 300,000 is 3,000: stopped long before the 300,000.
  EXPECT_GT(attempted, 3000u);
  EXPECT_LT(attempted, 60'000u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tcpmax::testing

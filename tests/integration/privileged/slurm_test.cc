// A single-node Slurm cluster, started and stopped by
// tests/integration/slurm/single-node.sh (munged, slurmctld and slurmd with a
// minimal configuration in a fresh directory, on private ports): `srun -n 2
// tcpmax load` takes its ranks from SLURM_PROCID/SLURM_NTASKS and its run id
// from the job, and `tcpmax merge` sums the two rank files exactly. Needs
// root (slurmd runs jobs as their user); takes a few seconds.
#include <unistd.h>

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

TEST(Slurm, SrunTwoTasksThenMerge) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED (privileged): slurmd needs root";
  for (const char* tool : {"munged", "slurmctld", "slurmd", "srun", "sinfo"}) {
    if (RunShell(fmt::format("command -v {}", tool)).exit_code != 0) {
      GTEST_SKIP() << "SKIPPED: " << tool << " not installed (scripts/install-deps installs slurm-wlm and munge)";
    }
  }
  ServeProcess serve({"--listen", "127.0.0.1:0", "--engine", "epoll"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  std::string script = std::string(TCPMAX_SOURCE_DIR) + "/tests/integration/slurm/single-node.sh";
  RunResult r = RunShell(fmt::format("{} {} 127.0.0.1:{} 3001", script, TCPMAX_BINARY, serve.port()), 180);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("rank 0 of 2 (slurm): connections #0..#1500 (1,501 of 3,001)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rank 1 of 2 (slurm): connections #1501..#3000 (1,500 of 3,001)"), std::string::npos) << r.err;
  auto merged = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(merged.is_object()) << r.out << r.err;
  EXPECT_EQ(merged["size"], 2);
  EXPECT_EQ(merged["ranks_merged"], 2);
  EXPECT_EQ(merged["run_id"].get<std::string>().rfind("slurm-", 0), 0u) << merged["run_id"];
  EXPECT_EQ(merged["opened"].get<uint64_t>(), 3001u);
  EXPECT_EQ(merged["connect_time"]["count"].get<uint64_t>(), 3001u);
  EXPECT_EQ(serve.Stop(), 0);
  EXPECT_EQ(serve.summary()["accepted"].get<uint64_t>(), 3001u);
  // Every daemon the script started is gone.
  EXPECT_NE(RunShell("pgrep -f 'tcpmax-slurm\\.'").exit_code, 0);
}

}  // namespace
}  // namespace tcpmax::testing

#include "dist/launcher.h"

#include <map>

#include <gtest/gtest.h>

namespace tcpmax::dist {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Launcher, NothingIsOneRank) {
  auto r = DetectRank(Env({}), std::nullopt, std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->rank, 0);
  EXPECT_EQ(r->size, 1);
  EXPECT_EQ(r->launcher, "none");
  EXPECT_FALSE(r->distributed());
}

TEST(Launcher, OpenMpi) {
  auto r = DetectRank(Env({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}}), std::nullopt, std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->rank, 3);
  EXPECT_EQ(r->size, 4);
  EXPECT_EQ(r->launcher, "openmpi");
}

TEST(Launcher, LocalRanks) {
  auto ompi = DetectRank(Env({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
                         std::nullopt, std::nullopt);
  ASSERT_TRUE(ompi);
  EXPECT_EQ(ompi->local_rank, 1);
  EXPECT_EQ(ompi->local_size, 2);
  auto hydra = DetectRank(Env({{"PMI_RANK", "2"}, {"PMI_SIZE", "6"}, {"MPI_LOCALRANKID", "2"}, {"MPI_LOCALNRANKS", "3"}}),
                          std::nullopt, std::nullopt);
  ASSERT_TRUE(hydra);
  EXPECT_EQ(hydra->local_rank, 2);
  EXPECT_EQ(hydra->local_size, 3);
  // Slurm: node 1 of "2(x2),1" runs 2 tasks; node 2 runs 1.
  auto slurm = DetectRank(Env({{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "5"}, {"SLURM_LOCALID", "1"},
                               {"SLURM_NODEID", "1"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x2),1"}}),
                          std::nullopt, std::nullopt);
  ASSERT_TRUE(slurm);
  EXPECT_EQ(slurm->local_rank, 1);
  EXPECT_EQ(slurm->local_size, 2);
  auto last = DetectRank(Env({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "5"}, {"SLURM_LOCALID", "0"},
                              {"SLURM_NODEID", "2"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x2),1"}}),
                         std::nullopt, std::nullopt);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->local_size, 1);
  // Inconsistent or missing: one rank per machine.
  auto bad = DetectRank(Env({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"},
                             {"OMPI_COMM_WORLD_LOCAL_RANK", "3"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}),
                        std::nullopt, std::nullopt);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->local_rank, 0);
  EXPECT_EQ(bad->local_size, 1);
}

TEST(Launcher, Pmi) {
  auto r = DetectRank(Env({{"PMI_RANK", "1"}, {"PMI_SIZE", "8"}}), std::nullopt, std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->rank, 1);
  EXPECT_EQ(r->size, 8);
  EXPECT_EQ(r->launcher, "pmi");
}

TEST(Launcher, SlurmWithJobId) {
  auto r = DetectRank(Env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_ID", "17"}, {"SLURM_STEP_ID", "0"}}),
                      std::nullopt, std::nullopt);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->rank, 0);
  EXPECT_EQ(r->size, 2);
  EXPECT_EQ(r->launcher, "slurm");
  EXPECT_EQ(r->job_id, "slurm-17.0");
}

TEST(Launcher, MpiInsideSlurmIsMpi) {
  auto r = DetectRank(Env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"OMPI_COMM_WORLD_RANK", "2"},
                           {"OMPI_COMM_WORLD_SIZE", "3"}}),
                      std::nullopt, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->launcher, "openmpi");
  EXPECT_EQ(r->rank, 2);
}

TEST(Launcher, KubernetesSizeFromFlagOrVariable) {
  auto flag = DetectRank(Env({{"JOB_COMPLETION_INDEX", "5"}}), std::nullopt, 6);
  ASSERT_TRUE(flag) << flag.error().ToString();
  EXPECT_EQ(flag->rank, 5);
  EXPECT_EQ(flag->size, 6);
  EXPECT_EQ(flag->launcher, "kubernetes");
  auto var = DetectRank(Env({{"JOB_COMPLETION_INDEX", "0"}, {"TCPMAX_SIZE", "3"}}), std::nullopt, std::nullopt);
  ASSERT_TRUE(var) << var.error().ToString();
  EXPECT_EQ(var->size, 3);
  auto none = DetectRank(Env({{"JOB_COMPLETION_INDEX", "0"}}), std::nullopt, std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().context.find("TCPMAX_SIZE"), std::string::npos);
}

TEST(Launcher, FlagsWinAndAreChecked) {
  auto r = DetectRank(Env({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}}), 1, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->launcher, "flags");
  EXPECT_EQ(r->rank, 1);
  auto no_size = DetectRank(Env({}), 1, std::nullopt);
  ASSERT_FALSE(no_size);
  EXPECT_EQ(no_size.error().context, "--rank needs --size (how many ranks the run has)");
  auto too_big = DetectRank(Env({}), 4, 4);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().context, "--rank 4 is not below --size 4");
  EXPECT_FALSE(DetectRank(Env({}), 0, 0));
  EXPECT_FALSE(DetectRank(Env({}), std::nullopt, 4));  // --size alone, no launcher
}

TEST(Launcher, BadVariables) {
  EXPECT_FALSE(DetectRank(Env({{"PMI_RANK", "x"}, {"PMI_SIZE", "2"}}), std::nullopt, std::nullopt));
  EXPECT_FALSE(DetectRank(Env({{"PMI_RANK", "2"}, {"PMI_SIZE", "2"}}), std::nullopt, std::nullopt));
  EXPECT_FALSE(DetectRank(Env({{"PMI_RANK", "0"}}), std::nullopt, std::nullopt));
  EXPECT_FALSE(DetectRank(Env({{"SLURM_PROCID", "-1"}, {"SLURM_NTASKS", "2"}}), std::nullopt, std::nullopt));
  // --size that disagrees with the launcher.
  EXPECT_FALSE(DetectRank(Env({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}}), std::nullopt, 3));
}

}  // namespace
}  // namespace tcpmax::dist

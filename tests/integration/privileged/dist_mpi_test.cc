// The distributed run of issue 13, on one box: `mpirun -np 4` starts four
// ranks of `tcpmax load`, each opening its connections inside its own network
// namespace (--netns: a stand-in for a separate client machine with two
// addresses of its own), over veth pairs and a bridge to `tcpmax serve` in a
// server namespace. Addresses are in 198.18.0.0/15; the test creates and
// removes every namespace (and with them the links).
//
// Checks: the merged total is exactly 100,000 and equals serve's count and
// `tcpmax count` in the server namespace while everything is held; the
// merged histogram equals the bucket sum of the four ranks' histograms (read
// back independently) and counts every connection; each rank used only its
// own namespace's addresses.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dist/rank_result.h"
#include "harness.h"
#include "run_lock_wait.h"

namespace tcpmax::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kRanks = 4;
constexpr int kPerRank = 25'000;

// Runs above ~20,000 connections share the box one at a time.
class HeavyLock {
 public:
  HeavyLock() {
    fd_ = ::open("/tmp/tcpmax-heavy.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    locked_ = fd_ >= 0 && ::flock(fd_, LOCK_EX) == 0;
  }
  ~HeavyLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool locked() const { return locked_; }

 private:
  int fd_ = -1;
  bool locked_ = false;
};

class Topology {
 public:
  Topology() : tag_(std::to_string(::getpid())) {
    std::string s = server();
    std::string cmd = fmt::format(
        "set -e; ip netns add {s}; ip -n {s} link set lo up; ip -n {s} link add br0 type bridge; "
        "ip -n {s} addr add 198.18.0.1/16 dev br0; ip -n {s} link set br0 up; ",
        fmt::arg("s", s));
    for (int i = 0; i < kRanks; ++i) {
      cmd += fmt::format(
          "ip netns add {c}; ip -n {c} link set lo up; ip -n {c} link add eth0 type veth peer name c{i} netns {s}; "
          "ip -n {s} link set c{i} master br0 up; ip -n {c} addr add 198.18.{n}.1/16 dev eth0; "
          "ip -n {c} addr add 198.18.{n}.2/16 dev eth0; ip -n {c} link set eth0 up; ",
          fmt::arg("c", client(i)), fmt::arg("s", s), fmt::arg("i", i), fmt::arg("n", i + 1));
    }
    RunResult r = RunShell(cmd, 60);
    ok_ = r.exit_code == 0;
    error_ = r.err;
  }
  ~Topology() {
    std::string cmd;
    for (const std::string& ns : all()) {
      cmd += fmt::format("ip netns pids {0} 2>/dev/null | xargs -r kill -9; ip netns del {0} 2>/dev/null; ", ns);
    }
    RunShell(cmd, 60);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string server() const { return "tcpmax-dsrv-" + tag_; }
  std::string client(int i) const { return fmt::format("tcpmax-dc{}-{}", i, tag_); }
  std::string client_pattern() const { return "tcpmax-dc${OMPI_COMM_WORLD_RANK}-" + tag_; }
  std::vector<std::string> all() const {
    std::vector<std::string> out{server()};
    for (int i = 0; i < kRanks; ++i) out.push_back(client(i));
    return out;
  }

 private:
  std::string tag_;
  bool ok_ = false;
  std::string error_;
};

TEST(DistMpi, FourRanksInFourNamespacesMergeToExactly100k) {
  TCPMAX_REQUIRE_NET_ADMIN();
  if (RunShell("command -v mpirun").exit_code != 0) GTEST_SKIP() << "SKIPPED: mpirun (openmpi-bin) not installed";
  HeavyLock heavy;
  ASSERT_TRUE(heavy.locked());
  ASSERT_TRUE(WaitForRunLock()) << "another tcpmax run holds /run/tcpmax/lock";
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  std::string dir = fmt::format("/tmp/tcpmax-dist-mpi-{}", ::getpid());
  fs::remove_all(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir};
  fs::create_directories(dir);

  // serve in the server namespace; then the four ranks; while every rank
  // holds, count in the server namespace; then wait for the ranks and stop
  // serve.
  std::string bin = TCPMAX_BINARY;
  std::string script = fmt::format(
      R"(ip netns exec {srv} {bin} serve --listen 198.18.0.1:7000 --duration 120s --interval 200ms --progress-json --json > {d}/serve.json 2> {d}/serve.err &
SERVE=$!
for i in $(seq 100); do grep -q '"ready"' {d}/serve.err && break; sleep 0.1; done
export TCPMAX_START_BASE=$(date +%s)
mpirun -np {ranks} --oversubscribe --allow-run-as-root sh -c 'exec {bin} load 198.18.0.1:7000 -n {total} --rate 40k/s --hold 12s --netns {pattern} --start-at +3s --results {d} --run-id mpi4 --json' > {d}/load.out 2> {d}/load.err &
MPI=$!
held=0
for i in $(seq 600); do
  held=$(tail -n 1 {d}/serve.err | sed -n 's/.*"held":\([0-9]*\).*/\1/p')
  [ "$held" = "{total}" ] && break
  sleep 0.1
done
ip netns exec {srv} {bin} count --state established --lport 7000 --json > {d}/count.json
wait $MPI; echo "mpirun exit $?" >> {d}/load.err
kill -INT $SERVE; wait $SERVE
)",
      fmt::arg("srv", topo.server()), fmt::arg("bin", bin), fmt::arg("d", dir), fmt::arg("ranks", kRanks),
      fmt::arg("total", kRanks * kPerRank), fmt::arg("pattern", topo.client_pattern()));
  RunResult r = RunShell(script, 240);
  auto slurp = [&](const std::string& name) {
    std::ifstream in(dir + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  std::string load_err = slurp("load.err");
  ASSERT_EQ(r.exit_code, 0) << r.err << load_err;
  ASSERT_NE(load_err.find("mpirun exit 0"), std::string::npos) << load_err;
  for (int i = 0; i < kRanks; ++i) {
    EXPECT_NE(load_err.find(fmt::format("rank {} of 4 (openmpi): ", i)), std::string::npos) << load_err;
  }

  // Every connection was held at once, as the server namespace counts them.
  auto count = nlohmann::json::parse(slurp("count.json"), nullptr, false);
  ASSERT_TRUE(count.is_object()) << slurp("count.json");
  EXPECT_EQ(count["total"].get<uint64_t>(), uint64_t{kRanks * kPerRank}) << count.dump();
  auto serve = nlohmann::json::parse(slurp("serve.json"), nullptr, false);
  ASSERT_TRUE(serve.is_object()) << slurp("serve.json") << slurp("serve.err");
  EXPECT_EQ(serve["accepted"].get<uint64_t>(), uint64_t{kRanks * kPerRank}) << serve.dump();

  std::vector<std::string> files;
  Histogram sum;
  for (int i = 0; i < kRanks; ++i) {
    files.push_back(fmt::format("{}/mpi4-rank{}.json", dir, i));
    auto rank = dist::RankResultFromJson(nlohmann::json::parse(slurp(fmt::format("mpi4-rank{}.json", i)), nullptr, false));
    ASSERT_TRUE(rank) << rank.error().ToString();
    EXPECT_EQ(rank->launcher, "openmpi");
    EXPECT_EQ(rank->netns, topo.client(i));
    EXPECT_EQ(rank->connections, uint64_t{kPerRank});
    EXPECT_EQ(rank->totals.opened, uint64_t{kPerRank});
    EXPECT_EQ(rank->source_count, 2u);  // its namespace's own two addresses
    sum.Merge(rank->totals.connect_ns);
  }
  RunResult m = RunTcpmax({"merge", files[0], files[1], files[2], files[3], "--json"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  auto merged = nlohmann::json::parse(m.out, nullptr, false);
  ASSERT_TRUE(merged.is_object()) << m.out;
  EXPECT_EQ(merged["opened"].get<uint64_t>(), uint64_t{kRanks * kPerRank});
  EXPECT_EQ(merged["held"].get<uint64_t>(), uint64_t{kRanks * kPerRank});
  EXPECT_EQ(merged["failed"].get<uint64_t>(), 0u);
  EXPECT_EQ(merged["opened"], serve["accepted"]);
  EXPECT_EQ(merged["opened"], count["total"]);
  auto hist = dist::HistogramFromJson(merged["connect_time"]["histogram"]);
  ASSERT_TRUE(hist) << hist.error().ToString();
  EXPECT_EQ(*hist, sum);  // bucket for bucket, with count, sum, min and max
  EXPECT_EQ(hist->count(), uint64_t{kRanks * kPerRank});
  EXPECT_LE(merged["connect_time"]["p99_ns"].get<uint64_t>(), merged["connect_time"]["max_ns"].get<uint64_t>());
  // The ranks started together (--start-at): well under a second apart.
  EXPECT_LT(merged["start_skew_seconds"].get<double>(), 1.0) << merged.dump();
  std::cerr << "merge: " << RunTcpmax({"merge", files[0], files[1], files[2], files[3]}).out;
}

}  // namespace
}  // namespace tcpmax::testing

// The probe's memory guard on a real climb (loopback shards), driven by a
// fake /proc/meminfo: once usable memory falls under the reserve the load
// shards open nothing more, even while the probe holds its peak; and the
// report says why the climb stopped, with the finding id of `limits`.
#include <atomic>
#include <mutex>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "probe/runner.h"
#include "sys/reader.h"

namespace tcpmax::probe {
namespace {

// The live box, except /proc/meminfo: MemAvailable is `available_kb`, which
// the test lowers mid-climb.
class FakeMemory final : public sys::Reader {
 public:
  Result<std::string> ReadFile(std::string_view path) const override {
    if (path != "/proc/meminfo") return live_.ReadFile(path);
    ++reads_;
    uint64_t kb = reads_ > trip_after_ ? 100 * 1024 : 20ull * 1024 * 1024;
    return fmt::format("MemTotal:       24000000 kB\nMemFree:        {} kB\nMemAvailable:   {} kB\n"
                       "Slab:           1000 kB\nSReclaimable:   500 kB\n",
                       kb, kb);
  }
  Result<sys::Rlimit> GetRlimit(sys::RlimitKind kind) const override { return live_.GetRlimit(kind); }
  Result<uint64_t> EffectiveCapabilities() const override { return live_.EffectiveCapabilities(); }
  Result<std::vector<sys::LocalAddress>> LocalAddresses() const override { return live_.LocalAddresses(); }
  std::string Describe() const override { return "fake meminfo"; }

  int trip_after_ = 8;  // readings before memory "runs out"
  mutable std::atomic<int> reads_{0};

 private:
  sys::LiveReader live_;
};

TEST(ProbeGuard, WhenTheGuardTripsNoFurtherConnectionIsOpened) {
  sys::LiveReader live;
  ProbeOptions opt;
  opt.target = 20'000;
  opt.engine = Engine::kEpoll;
  opt.rate = 2'000;                             // 10 s to the target without the guard
  opt.interval = std::chrono::milliseconds(100);
  opt.hold = std::chrono::milliseconds(2000);   // 4,000 more connects if the load kept opening
  opt.first_port = 17740;
  opt.reserve_percent = 1;
  auto setup = Prepare(opt, live);
  ASSERT_TRUE(setup) << setup.error().ToString();
  FakeMemory memory;
  std::atomic<bool> stop{false};
  auto rep = RunProbe(opt, *setup, {}, stop, memory);
  ASSERT_TRUE(rep) << rep.error().ToString();
  EXPECT_EQ(rep->stop_reason, StopReason::kMemoryReserve) << rep->stop_detail;
  EXPECT_EQ(rep->binding_id, "memory");
  EXPECT_TRUE(rep->guard_tripped);
  // The last report before the trip may be one interval old: at 2,000/s that
  // is 200 attempts; the shards must stop within a few more milliseconds.
  EXPECT_LE(rep->attempted_after_guard, 400u) << "the load kept opening after the guard tripped";
  EXPECT_GT(rep->reached, 0u);
  EXPECT_LT(rep->reached, 10'000u);
  EXPECT_TRUE(rep->verified);
  EXPECT_TRUE(rep->verification.ok) << rep->verification.problem;
  EXPECT_LE(rep->max_sample_gap_seconds, 0.2) << "the supervisor missed its sampling schedule";
}

}  // namespace
}  // namespace tcpmax::probe

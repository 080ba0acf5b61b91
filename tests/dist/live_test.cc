#include "dist/live.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tcpmax::dist {
namespace {

TEST(StopWhen, ParseAndMet) {
  auto s = StopWhen::Parse("failed>1%");
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->ToString(), "failed>1%");
  LiveTotals t;
  t.target = 100'000;
  t.failed = 1000;
  EXPECT_FALSE(s->Met(t));  // exactly 1% is not above it
  t.failed = 1001;
  EXPECT_TRUE(s->Met(t));
  auto held = StopWhen::Parse("held>=50000");
  ASSERT_TRUE(held);
  t.held = 50'000;
  EXPECT_TRUE(held->Met(t));
  for (const char* bad : {"", "failed", "failed>", "lost>1%", "failed>x", "failed>101%", "failed<1%"}) {
    EXPECT_FALSE(StopWhen::Parse(bad)) << bad;
  }
  LiveTotals none;  // no target yet: a percent cannot be met
  none.failed = 5;
  EXPECT_FALSE(s->Met(none));
}

// An in-process collective: each of n callers adds its part; all get the sum.
class FakeWorld {
 public:
  explicit FakeWorld(int n) : n_(n) {}
  LiveTotals Reduce(const LiveTotals& local) {
    std::unique_lock<std::mutex> lock(mu_);
    uint64_t in[LiveTotals::kFields];
    local.ToArray(in);
    for (int i = 0; i < LiveTotals::kFields; ++i) acc_[i] += in[i];
    uint64_t gen = gen_;
    if (++arrived_ == n_) {
      result_ = LiveTotals::FromArray(acc_);
      for (uint64_t& a : acc_) a = 0;
      arrived_ = 0;
      ++gen_;
      ++steps_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen_ != gen; });
    }
    return result_;
  }
  int steps() const { return steps_; }

 private:
  int n_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t acc_[LiveTotals::kFields] = {};
  int arrived_ = 0;
  uint64_t gen_ = 0;
  int steps_ = 0;
  LiveTotals result_;
};

TEST(Coordinator, EveryRankStopsAtTheSameStepOnTheJobTotals) {
  constexpr int kRanks = 3;
  FakeWorld world(kRanks);
  std::atomic<bool> no_signal{false};
  std::vector<std::unique_ptr<Coordinator>> ranks;
  std::vector<LiveTotals> seen(kRanks);
  for (int r = 0; r < kRanks; ++r) {
    ranks.push_back(std::make_unique<Coordinator>([&](const LiveTotals& l) { return world.Reduce(l); }, 20'000'000,
                                                  StopWhen::Parse("failed>1%").value(), no_signal, nullptr));
  }
  // Only rank 2 fails, 400 of its 10,000: 1.3% of the job's 30,000.
  for (int r = 0; r < kRanks; ++r) {
    LiveTotals t;
    t.target = 10'000;
    t.failed = r == 2 ? 400 : 0;
    ranks[r]->Update(t);
  }
  for (auto& c : ranks) {
    for (int i = 0; i < 500 && !c->stop().load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_TRUE(c->stop().load());
    EXPECT_EQ(c->stop_reason(), "failed>1%");
  }
  // Ranks finish one by one; each Finish returns once all are done.
  std::vector<std::thread> finishers;
  for (int r = 0; r < kRanks; ++r) {
    finishers.emplace_back([&, r] {
      LiveTotals t;
      t.target = 10'000;
      t.opened = 100 * (r + 1);
      seen[r] = ranks[r]->Finish(t);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  for (auto& t : finishers) t.join();
  for (const LiveTotals& t : seen) {
    EXPECT_EQ(t.ranks, 3u);
    EXPECT_EQ(t.done, 3u);
    EXPECT_EQ(t.opened, 600u);
    EXPECT_EQ(t.target, 30'000u);
  }
}

TEST(Coordinator, ASignalOnOneRankStopsAll) {
  FakeWorld world(2);
  std::atomic<bool> quiet{false}, interrupted{false};
  Coordinator a([&](const LiveTotals& l) { return world.Reduce(l); }, 10'000'000, std::nullopt, quiet, nullptr);
  Coordinator b([&](const LiveTotals& l) { return world.Reduce(l); }, 10'000'000, std::nullopt, interrupted, nullptr);
  interrupted = true;
  for (int i = 0; i < 500 && !a.stop().load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_TRUE(a.stop().load());
  EXPECT_EQ(a.stop_reason(), "signal");
  std::thread t([&] { b.Finish({}); });
  a.Finish({});
  t.join();
}

}  // namespace
}  // namespace tcpmax::dist

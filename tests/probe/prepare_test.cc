// Prepare on recorded boxes: the prediction is the minimum over every limit
// that applies (per-user ones included), made under the settings --tune will
// set, and a target the box cannot host is refused before anything starts.
#include <gtest/gtest.h>

#include "probe/runner.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::probe {
namespace {

std::unique_ptr<sys::SnapshotReader> Box(const std::string& name) {
  auto reader = sys::SnapshotReader::Open(std::string(TCPMAX_TEST_DATA) + "/snapshots/" + name);
  EXPECT_TRUE(reader) << name;
  return std::make_unique<sys::SnapshotReader>(std::move(*reader));
}

TEST(Prepare, PredictionIsTheMinimumOverEveryApplicableLimit) {
  auto box = Box("this-box");
  ProbeOptions opt;
  opt.target = 100'000;
  opt.watch_held = true;  // each socket an epoll item: the per-user watch limit applies
  auto s = Prepare(opt, *box);
  ASSERT_TRUE(s) << s.error().ToString();
  const Prediction& p = s->prediction;
  ASSERT_TRUE(p.known);
  bool per_user = false;
  uint64_t least = UINT64_MAX;
  for (const PredictedLimit& l : p.limits) {
    least = std::min(least, l.ceiling);
    per_user = per_user || l.id == "fs.epoll.max_user_watches";
    EXPECT_EQ(l.binding, l.id == p.binding_id) << l.id;
  }
  EXPECT_TRUE(per_user) << "the per-user epoll watch limit must be among the rows";
  EXPECT_EQ(p.ceiling, least);
  EXPECT_NE(p.arithmetic.find("min("), std::string::npos);
}

TEST(Prepare, UnwatchedClimbsAreNotBoundByEpollWatches) {
  auto box = Box("this-box");
  ProbeOptions opt;
  opt.target = 100'000;
  ASSERT_FALSE(opt.watch_held) << "the probe holds unwatched by default";
  auto s = Prepare(opt, *box);
  ASSERT_TRUE(s) << s.error().ToString();
  for (const PredictedLimit& l : s->prediction.limits) EXPECT_NE(l.id, "fs.epoll.max_user_watches");
  opt.watch_held = true;
  auto w = Prepare(opt, *box);
  ASSERT_TRUE(w) << w.error().ToString();
  // Without the epoll item per socket each connection costs less, so memory allows more.
  EXPECT_GE(s->prediction.ceiling, w->prediction.ceiling);
}

TEST(Prepare, TuneIsPredictedBeforeAnythingChanges) {
  auto box = Box("this-box");
  ProbeOptions opt;
  opt.target = 100'000;
  auto plain = Prepare(opt, *box);
  opt.tune = true;
  auto tuned = Prepare(opt, *box);
  ASSERT_TRUE(plain && tuned);
  auto watches = [](const Prediction& p) {
    for (const PredictedLimit& l : p.limits)
      if (l.id == "fs.epoll.max_user_watches") return l.ceiling;
    return uint64_t{0};
  };
  // this-box has 5,491,511 watches: --tune raises nothing there ...
  EXPECT_EQ(watches(plain->prediction), watches(tuned->prediction));
  // ... but a box with few watches is predicted with the raised value.
  auto stock = Box("stock-distro");
  opt.tune = false;
  auto low = Prepare(opt, *stock);
  opt.tune = true;
  auto high = Prepare(opt, *stock);
  ASSERT_TRUE(low && high) << (low ? high.error().ToString() : low.error().ToString());
  bool raised = false;
  for (const Setting& t : high->tuning) raised = raised || t.name == "fs.epoll.max_user_watches";
  if (raised) {
    EXPECT_GT(watches(high->prediction), watches(low->prediction));
  }
  EXPECT_FALSE(high->tuning.empty()) << "the stock box needs something raised for 100k";
  EXPECT_GE(high->prediction.notes.size(), high->tuning.size());
}

TEST(Prepare, ATargetTheBoxCannotHostIsRefusedSayingWhy) {
  auto box = Box("this-box");
  ProbeOptions opt;
  opt.target = 20'000'000;
  opt.engine = Engine::kEpoll;
  auto s = Prepare(opt, *box);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().context.find("processes per side"), std::string::npos) << s.error().context;
  opt.target = 5'000'000;  // plannable, but more than memory holds
  s = Prepare(opt, *box);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().context.find("--target 5,000,000: this box holds about"), std::string::npos)
      << s.error().context;
  EXPECT_EQ(s.error().context.find('\n'), std::string::npos);
}

TEST(Prepare, MaxSizesTheTargetFromMemoryAndIsNotRefused) {
  auto box = Box("this-box");
  ProbeOptions opt;
  opt.max = true;
  auto s = Prepare(opt, *box);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_GT(s->target, 2'000'000u);
  EXPECT_EQ(s->plan.target, s->target);
}

}  // namespace
}  // namespace tcpmax::probe

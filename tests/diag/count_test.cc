// diag::CountNetlink over the recorded mix (tests/data/netlink/mix.nlrec)
// and diag::CountProc over the /proc files recorded with it: both must give
// the numbers the mix was built with (see make_mix.py).
#include "diag/count.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "replay_util.h"

namespace tcpmax::diag {
namespace {

using testing::DataPath;

// mix.nlrec holds per-family (v2) dumps; mix-single-walk.nlrec one compat
// dump of both families, made from the same mix.
Counts Replay(const Query& q, const char* file = "mix.nlrec") {
  auto src = ReplaySource::Load(DataPath(file));
  EXPECT_TRUE(src.has_value());
  auto c = CountNetlink(q, **src);
  EXPECT_TRUE(c.has_value()) << c.error().ToString();
  return c.value_or(Counts{});
}

// /proc files of the same mix, copied to a temporary dir as tcp and tcp6.
Counts Proc(const Query& q) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tcpmax-proc-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(DataPath("mix.proc.tcp"), dir / "tcp", fs::copy_options::overwrite_existing);
  fs::copy_file(DataPath("mix.proc.tcp6"), dir / "tcp6", fs::copy_options::overwrite_existing);
  auto c = CountProc(q, dir.string());
  fs::remove_all(dir);
  EXPECT_TRUE(c.has_value()) << c.error().ToString();
  return c.value_or(Counts{});
}

struct Case {
  const char* name;
  Query q;
  uint64_t total;
};

Query Q(std::function<void(Query&)> f) {
  Query q;
  f(q);
  return q;
}

Cidr C(const char* text) { return *ParseCidr(text); }

std::vector<Case> Cases() {
  return {
      {"all", Query{}, 42},
      {"lport 7000-7004", Q([](Query& q) { q.lports = {{7000, 7004}}; }), 21},
      {"rport 7000-7004", Q([](Query& q) { q.rports = {{7000, 7004}}; }), 21},
      {"classic", Q([](Query& q) { q.states = kClassicStates; }), 32},
      {"src 127/8 (v4-mapped too)", Q([](Query& q) { q.src = {C("127.0.0.0/8")}; }), 31},
      {"src ::1", Q([](Query& q) { q.src = {C("::1")}; }), 10},
      {"dst v4-mapped as IPv6", Q([](Query& q) { q.dst = {C("::ffff:127.0.0.1/128")}; }), 2},
      {"-6 listen", Q([](Query& q) { q.ipv4 = false; q.states = StateBit(kListen); }), 3},
      {"lport 7001 close-wait", Q([](Query& q) { q.lports = {{7001, 7001}}; q.states = StateBit(kCloseWait); }), 2},
      {"two lport ranges and rport",
       Q([](Query& q) { q.lports = {{7000, 7000}, {7003, 7003}}; q.rports = {{30000, 65535}}; }), 8},
      {"lport 1-65535 is any", Q([](Query& q) { q.lports = {{1, 30000}, {20000, 65535}}; }), 42},
      {"nothing", Q([](Query& q) { q.lports = {{1, 1}}; }), 0},
  };
}

TEST(CountReplay, RecordedMixGivesKnownTotalsPerState) {
  Counts c = Replay(Query{});
  EXPECT_EQ(c.total, 42u);
  EXPECT_EQ(c.ipv4, 29u);
  EXPECT_EQ(c.ipv6, 13u);
  EXPECT_EQ(c.states[kEstablished], 26u);
  EXPECT_EQ(c.states[kTimeWait], 6u);
  EXPECT_EQ(c.states[kFinWait2], 2u);
  EXPECT_EQ(c.states[kCloseWait], 2u);
  EXPECT_EQ(c.states[kListen], 6u);
  EXPECT_EQ(c.source, SourceKind::kNetlink);
  EXPECT_FALSE(c.interrupted);
}

TEST(CountReplay, FiltersGiveKnownTotals) {
  for (const Case& k : Cases()) EXPECT_EQ(Replay(k.q).total, k.total) << k.name;
}

TEST(CountReplay, SingleWalkRecordingGivesTheSameCounts) {
  for (const Case& k : Cases()) {
    if (!k.q.ipv4 || !k.q.ipv6) continue;  // one family: never a single walk
    Counts c = Replay(k.q, "mix-single-walk.nlrec");
    EXPECT_TRUE(c.single_walk) << k.name;
    EXPECT_EQ(c.total, k.total) << k.name;
    EXPECT_EQ(c.states, Replay(k.q).states) << k.name;
  }
  EXPECT_FALSE(Replay(Query{}).single_walk);  // v2 recording: refused, then per family
}

TEST(CountProc, RecordedProcFilesGiveTheSameTotals) {
  for (const Case& k : Cases()) {
    Counts p = Proc(k.q);
    EXPECT_EQ(p.total, k.total) << k.name;
    EXPECT_EQ(p.states, Replay(k.q).states) << k.name;
    EXPECT_EQ(p.source, SourceKind::kProc);
  }
}

TEST(CountReplay, AggregatesByLocalPortLargestFirst) {
  Query q;
  q.by = AggregateBy::kLocalPort;
  q.top = 3;
  Counts c = Replay(q);
  ASSERT_EQ(c.groups.size(), 3u);
  EXPECT_EQ(c.groups[0].key.port, 7000);
  EXPECT_EQ(c.groups[0].count, 7u);
  EXPECT_EQ(c.groups[1].key.port, 7001);
  EXPECT_EQ(c.groups[1].count, 6u);
  EXPECT_EQ(c.groups[2].key.port, 7003);
  EXPECT_EQ(c.groups[2].count, 4u);
  EXPECT_EQ(c.distinct_groups, 5u + 21u);  // 5 server ports + one ephemeral port per client socket
}

TEST(CountReplay, AggregatesByRemoteAddressAndState) {
  Query q;
  q.by = AggregateBy::kRemoteAddr;
  q.top = 0;
  Counts c = Replay(q);
  uint64_t sum = 0;
  for (const Group& g : c.groups) sum += g.count;
  EXPECT_EQ(sum, 42u);
  ASSERT_FALSE(c.groups.empty());
  EXPECT_EQ(c.groups[0].key.ToString(AggregateBy::kRemoteAddr), "127.0.0.1");  // 26 v4 connected sockets
  EXPECT_EQ(c.groups[0].count, 26u);

  q.by = AggregateBy::kState;
  c = Replay(q);
  ASSERT_EQ(c.groups.size(), 5u);
  EXPECT_EQ(c.groups[0].key.ToString(AggregateBy::kState), "established");
}

TEST(CountReplay, MissingFamilyInRecordingIsAnError) {
  auto src = ReplaySource::FromBytes({}, "empty");
  ASSERT_TRUE(src.has_value());
  EXPECT_FALSE(CountNetlink(Query{}, **src).has_value());
}

}  // namespace
}  // namespace tcpmax::diag

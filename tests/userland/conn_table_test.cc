#include "userland/tcp/conn_table.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "sys/process.h"

namespace tcpmax::userland::tcp {
namespace {

ConnKey Key(uint64_t i) { return ConnKey{uint32_t(0xc6130000u + (i & 0xffff)), uint16_t(1024 + (i >> 16)), uint16_t(i % 3)}; }

TEST(ConnTableTest, InsertFindErase) {
  ConnTable t(42);
  auto c = t.Insert(Key(1));
  ASSERT_TRUE(c.has_value());
  (*c)->rcv_nxt = 7;
  (*c)->set_state(ConnState::kLastAck);
  (*c)->set_ts_ok(true);
  (*c)->set_mss_index(2);
  Conn* f = t.Find(Key(1));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->rcv_nxt, 7u);
  EXPECT_EQ(f->state(), ConnState::kLastAck);
  EXPECT_TRUE(f->ts_ok());
  EXPECT_EQ(f->mss_index(), 2u);
  EXPECT_EQ(f->local_index(), Key(1).local_index);
  EXPECT_EQ(t.Find(Key(2)), nullptr);
  t.Erase(f);
  EXPECT_EQ(t.Find(Key(1)), nullptr);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ConnTableTest, HighLoadWithRandomErasesMatchesReference) {
  ConnTable t(7);
  ASSERT_TRUE(t.Reserve(150000).has_value());
  uint64_t cap = t.capacity();
  std::unordered_map<uint64_t, uint32_t> ref;
  std::mt19937_64 rng(1);
  // Fill to just under 3/4 of the capacity, then churn: erase and insert.
  uint64_t target = cap * 3 / 4 - 1;
  for (uint64_t i = 0; ref.size() < target; ++i) {
    uint64_t k = rng() % 4'000'000;
    if (ref.count(k)) continue;
    auto c = t.Insert(Key(k));
    ASSERT_TRUE(c.has_value());
    (*c)->snd_nxt = uint32_t(k * 3);
    ref[k] = uint32_t(k * 3);
  }
  EXPECT_EQ(t.capacity(), cap);  // no growth at <= 3/4 load
  for (int round = 0; round < 50000; ++round) {
    auto it = ref.begin();
    std::advance(it, rng() % 64);
    Conn* c = t.Find(Key(it->first));
    ASSERT_NE(c, nullptr);
    t.Erase(c);
    ref.erase(it);
    uint64_t k;
    do k = rng() % 4'000'000; while (ref.count(k));
    auto n = t.Insert(Key(k));
    ASSERT_TRUE(n.has_value());
    (*n)->snd_nxt = uint32_t(k * 3);
    ref[k] = uint32_t(k * 3);
  }
  EXPECT_EQ(t.size(), ref.size());
  for (auto& [k, v] : ref) {
    Conn* c = t.Find(Key(k));
    ASSERT_NE(c, nullptr) << k;
    EXPECT_EQ(c->snd_nxt, v);
  }
  uint64_t seen = 0;
  t.ForEach([&](const Conn&) { ++seen; });
  EXPECT_EQ(seen, ref.size());
  // At most 3/4 load: 16 B / 0.75 = 21.3 B per connection at the fullest.
  EXPECT_LE(double(t.bytes()) / double(t.size()), 32.0);
}

TEST(ConnTableTest, GrowsPastThreeQuarters) {
  ConnTable t(3);
  for (uint64_t i = 0; i < 5000; ++i) ASSERT_TRUE(t.Insert(Key(i)).has_value());
  EXPECT_GE(t.capacity() * 3, t.size() * 4);
  for (uint64_t i = 0; i < 5000; ++i) ASSERT_NE(t.Find(Key(i)), nullptr);
}

TEST(ConnTableTest, ReserveSizesForTenMillionUnder32Bytes) {
  ConnTable t(3);
  ASSERT_TRUE(t.Reserve(10'000'000).has_value());  // NORESERVE mapping: no memory touched
  EXPECT_LE(double(t.bytes()) / 10e6, 32.0);
  EXPECT_GE(t.capacity() * 3, 10'000'000ull * 4);
}

}  // namespace
}  // namespace tcpmax::userland::tcp

namespace tcpmax::userland::tcp {
namespace {

// Prefault() makes the reserved table resident before any connection (its
// pages faulted in up front), and leaves it empty and usable.
TEST(ConnTableTest, PrefaultMakesTheReservedTableResident) {
  ConnTable t(5);
  ASSERT_TRUE(t.Reserve(1'000'000).has_value());  // 2^21 slots: 32 MiB
  uint64_t before = sys::ResidentBytes().value_or(0);
  ASSERT_TRUE(t.Prefault().has_value());
  uint64_t after = sys::ResidentBytes().value_or(0);
  EXPECT_GE(after, before + t.bytes() * 9 / 10) << "before " << before << " after " << after;
  EXPECT_EQ(t.size(), 0u);
  ASSERT_TRUE(t.Insert(ConnKey{1, 2, 0}).has_value());
  EXPECT_NE(t.Find(ConnKey{1, 2, 0}), nullptr);
  EXPECT_EQ(t.Find(ConnKey{1, 3, 0}), nullptr);
}

}  // namespace
}  // namespace tcpmax::userland::tcp

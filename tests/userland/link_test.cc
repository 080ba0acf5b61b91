#include <gtest/gtest.h>

#include "userland/link/netns_setup.h"
#include "userland/link/packet_link.h"

namespace tcpmax::userland::link {
namespace {

TEST(LinkTest, NamesAreCheckedBeforeReachingIp) {
  EXPECT_TRUE(ValidIfName("tcpmax-ul"));
  EXPECT_TRUE(ValidIfName("tmxs0"));
  EXPECT_TRUE(ValidIfName("a.b_c-9"));
  EXPECT_FALSE(ValidIfName(""));
  EXPECT_FALSE(ValidIfName("0123456789abcdef"));  // 16 > IFNAMSIZ - 1
  EXPECT_FALSE(ValidIfName("a/b"));
  EXPECT_FALSE(ValidIfName("a b"));
  EXPECT_FALSE(ValidIfName(".."));
  EXPECT_FALSE(ValidIfName("-n;rm"));
}

TEST(LinkTest, PacketBatchSlots) {
  PacketBatch b(3);
  EXPECT_EQ(b.capacity(), 3u);
  EXPECT_EQ(b.NextSlot().size(), PacketBatch::kSlotBytes);
  b.NextSlot()[0] = 0x45;
  b.Push(20);
  b.NextSlot()[0] = 0x46;
  b.Push(40);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.Packet(0).size(), 20u);
  EXPECT_EQ(b.Packet(0)[0], 0x45);
  EXPECT_EQ(b.Packet(1)[0], 0x46);
  b.Push(1);
  EXPECT_TRUE(b.full());
  b.Clear();
  EXPECT_EQ(b.size(), 0u);
}

}  // namespace
}  // namespace tcpmax::userland::link

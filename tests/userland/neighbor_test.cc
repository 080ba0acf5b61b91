#include "userland/link/neighbor.h"

#include <gtest/gtest.h>

namespace tcpmax::userland::link {
namespace {

TEST(NeighborTest, TheLinkLayerAddressIsReadFromIpNeighOutput) {
  auto mac = ParseNeighborLine("198.18.0.1 lladdr 26:1a:bc:a7:ca:7a REACHABLE\n");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, (MacAddress{0x26, 0x1a, 0xbc, 0xa7, 0xca, 0x7a}));
  EXPECT_TRUE(ParseNeighborLine("198.18.0.1 lladdr 00:00:5e:00:53:01 STALE"));
  EXPECT_FALSE(ParseNeighborLine("198.18.0.1 INCOMPLETE"));
  EXPECT_FALSE(ParseNeighborLine("198.18.0.1 FAILED"));
  EXPECT_FALSE(ParseNeighborLine(""));
  EXPECT_FALSE(ParseNeighborLine("198.18.0.1 lladdr 26:1a:bc:a7:ca REACHABLE"));      // five bytes
  EXPECT_FALSE(ParseNeighborLine("198.18.0.1 lladdr 26:1a:bc:a7:ca:7a:01 REACHABLE"));  // seven
}

}  // namespace
}  // namespace tcpmax::userland::link

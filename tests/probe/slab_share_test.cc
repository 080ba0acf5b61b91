#include "probe/slab_share.h"

#include <gtest/gtest.h>

#include "probe/own_netns.h"

namespace tcpmax::probe {
namespace {

sys::SlabCache Cache(uint64_t active, uint64_t objsize, uint64_t per_slab, uint64_t pages) {
  sys::SlabCache c;
  c.active_objs = c.num_objs = active;
  c.objsize = objsize;
  c.objperslab = per_slab;
  c.pagesperslab = pages;
  return c;
}

TEST(SlabShare, SocketsOwnTheirCachesAndOneDentryEach) {
  sys::Slabinfo before{{"TCP", Cache(100, 2368, 13, 8)},
                       {"sock_inode_cache", Cache(100, 832, 39, 8)},
                       {"dentry", Cache(5000, 192, 21, 1)},
                       {"proc_inode_cache", Cache(1000, 712, 23, 4)},
                       {"filp", Cache(300, 192, 21, 1)}};
  sys::Slabinfo after = before;
  // 1,000 connections: 2,000 sockets, and a /proc walker's extra dentries and inodes.
  after["TCP"].active_objs += 2000;
  after["sock_inode_cache"].active_objs += 2000;
  after["filp"].active_objs += 2000;
  after["dentry"].active_objs += 5000;
  after["proc_inode_cache"].active_objs += 3000;
  SlabShare s = ShareSlab(before, after, 1000);
  ASSERT_TRUE(s.valid());
  EXPECT_DOUBLE_EQ(s.sockets, 2.0);
  double tcp = 2 * 8 * 4096.0 / 13, inode = 2 * 8 * 4096.0 / 39, filp = 2 * 4096.0 / 21;
  double dentry_each = 4096.0 / 21;
  EXPECT_NEAR(s.socket_bytes, tcp + inode + filp + 2 * dentry_each, 1e-6);
  EXPECT_NEAR(s.other_bytes, 3 * dentry_each + 3 * 4 * 4096.0 / 23, 1e-6);
  // Largest first; the dentry's socket share is one per socket.
  EXPECT_EQ(s.caches.front().cache, "TCP");
  for (const auto& c : s.caches) {
    if (c.cache == "dentry") {
      EXPECT_NEAR(c.objects, 5.0, 1e-9);
      EXPECT_NEAR(c.socket_bytes, 2 * dentry_each, 1e-6);
    }
    if (c.cache == "proc_inode_cache") {
      EXPECT_EQ(c.socket_bytes, 0);
    }
  }
}

TEST(SlabShare, CachesThatBarelyMovedAreLeftOutAndNoConnectionsIsInvalid) {
  sys::Slabinfo before{{"TCP", Cache(100, 2368, 13, 8)}, {"kmalloc-64", Cache(100, 64, 64, 1)}};
  sys::Slabinfo after = before;
  after["TCP"].active_objs += 200;
  after["kmalloc-64"].active_objs += 1;  // 0.001 per connection
  SlabShare s = ShareSlab(before, after, 1000);
  ASSERT_EQ(s.caches.size(), 1u);
  EXPECT_EQ(s.caches[0].cache, "TCP");
  EXPECT_FALSE(ShareSlab(before, after, 0).valid());
}

TEST(OwnNetns, BucketsArePowersOfTwoWithinTheKernelsRange) {
  EXPECT_EQ(EhashBucketsFor(0), 65536u);
  EXPECT_EQ(EhashBucketsFor(40000), 65536u);
  EXPECT_EQ(EhashBucketsFor(200000), 262144u);
  EXPECT_EQ(EhashBucketsFor(6'000'000), 8u << 20);
  EXPECT_EQ(EhashBucketsFor(100'000'000), 16u << 20);
}

}  // namespace
}  // namespace tcpmax::probe

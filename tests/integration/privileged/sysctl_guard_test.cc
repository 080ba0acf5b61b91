// sys::SysctlGuard writes a live sysctl and puts the old value back. Needs
// root (writes /proc/sys); the change is one more TIME_WAIT bucket, restored
// at once.
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.h"
#include "run_lock_wait.h"
#include "sys/sysctl.h"

namespace tcpmax::sys {
namespace {

TEST(SysctlGuard, SetsAndRestores) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(::tcpmax::testing::WaitForRunLock());
  const char* name = "net.ipv4.tcp_max_tw_buckets";
  LiveReader live;
  auto before = ReadSysctlU64(live, name);
  ASSERT_TRUE(before) << before.error().ToString();
  {
    auto guard = SysctlGuard::Set(name, std::to_string(*before + 1));
    ASSERT_TRUE(guard) << guard.error().ToString();
    EXPECT_EQ(guard->old_value(), std::to_string(*before));
    EXPECT_EQ(*ReadSysctlU64(live, name), *before + 1);
  }
  EXPECT_EQ(*ReadSysctlU64(live, name), *before);
}

TEST(SysctlGuard, UnknownSysctlIsAnErrorWithErrno) {
  auto guard = SysctlGuard::Set("net.ipv4.no_such_sysctl", "1");
  ASSERT_FALSE(guard);
  EXPECT_EQ(guard.error().code, ENOENT);
  EXPECT_NE(guard.error().context.find("/proc/sys/net/ipv4/no_such_sysctl"), std::string::npos);
}


TEST(SysctlGuard, RestoreLeavesAValueChangedSinceAlone) {
  TCPMAX_REQUIRE_NET_ADMIN();
  ASSERT_TRUE(::tcpmax::testing::WaitForRunLock());
  const char* name = "net.ipv4.tcp_max_tw_buckets";
  LiveReader live;
  auto before = ReadSysctlU64(live, name);
  ASSERT_TRUE(before) << before.error().ToString();
  auto guard = SysctlGuard::Set(name, std::to_string(*before + 1));
  ASSERT_TRUE(guard) << guard.error().ToString();
  ASSERT_TRUE(WriteSysctl(name, std::to_string(*before + 2)));  // someone else
  auto r = guard->Restore();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EBUSY);
  EXPECT_NE(r.error().context.find("changed by someone else"), std::string::npos) << r.error().context;
  EXPECT_EQ(*ReadSysctlU64(live, name), *before + 2) << "overwrote a value it no longer owned";
  ASSERT_TRUE(WriteSysctl(name, std::to_string(*before)));
}

}  // namespace
}  // namespace tcpmax::sys

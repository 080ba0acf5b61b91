// The memory guard through a fake reader: it trips under the reserve, does
// not count the slab the climb grew as usable, and an unreadable
// /proc/meminfo is an error, never "0 bytes left".
#include "probe/memory_guard.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace tcpmax::probe {
namespace {

class FakeBox final : public sys::Reader {
 public:
  Result<std::string> ReadFile(std::string_view path) const override {
    if (path == "/proc/meminfo") {
      if (!meminfo_ok) return ErrnoError(EACCES, "open /proc/meminfo");
      return fmt::format("MemTotal: 24000000 kB\nMemFree: {} kB\nMemAvailable: {} kB\nActive(file): {} kB\n"
                         "Inactive(file): 0 kB\nSlab: 1000 kB\nSReclaimable: {} kB\n",
                         free_kb, free_kb + file_kb + reclaimable_kb, file_kb, reclaimable_kb);
    }
    if (path == "/proc/sys/fs/file-nr") return fmt::format("{}\t0\t9999999\n", files);
    return ErrnoError(ENOENT, "open " + std::string(path));
  }
  Result<sys::Rlimit> GetRlimit(sys::RlimitKind) const override { return sys::Rlimit{1024, 1024}; }
  Result<uint64_t> EffectiveCapabilities() const override { return uint64_t{0}; }
  Result<std::vector<sys::LocalAddress>> LocalAddresses() const override { return std::vector<sys::LocalAddress>{}; }
  std::string Describe() const override { return "fake"; }

  bool meminfo_ok = true;
  uint64_t free_kb = 9'000'000, file_kb = 900'000, reclaimable_kb = 100'000, files = 1000;
};

TEST(MemoryGuard, TripsOnlyUnderTheReserve) {
  FakeBox box;
  auto guard = MemoryGuard::Start(box, 2'000'000ull * 1024);
  ASSERT_TRUE(guard) << guard.error().ToString();
  auto c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->tripped);
  box.free_kb = 999'999;
  box.file_kb = 900'000;
  c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->tripped);
  EXPECT_EQ(c->usable, (999'999ull + 900'000 + 100'000) * 1024);
}

TEST(MemoryGuard, ReclaimableSlabTheClimbGrewIsNotUsable) {
  FakeBox box;
  auto guard = MemoryGuard::Start(box, 1ull << 30);
  ASSERT_TRUE(guard);
  // The sockets' dentries and inodes: +6 GiB of "reclaimable" slab, taken
  // from free memory. MemAvailable (free + file + reclaimable) barely moves;
  // usable memory drops by all of it.
  box.reclaimable_kb += 6 * 1024 * 1024;
  box.free_kb -= 6 * 1024 * 1024;
  auto c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->reading.available, (9'000'000ull + 900'000 + 100'000) * 1024);
  EXPECT_EQ(c->usable, (9'000'000ull - 6 * 1024 * 1024 + 900'000 + 100'000) * 1024);
}

TEST(MemoryGuard, AnUnreadableMeminfoIsAnErrorNotZero) {
  FakeBox box;
  auto guard = MemoryGuard::Start(box, 1);
  ASSERT_TRUE(guard);
  box.meminfo_ok = false;
  auto c = guard->Read();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, EACCES);
  EXPECT_FALSE(MemoryGuard::Start(box, 1)) << "no baseline without meminfo";
}

}  // namespace
}  // namespace tcpmax::probe

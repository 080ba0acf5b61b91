// The memory guard through a fake reader: it trips under the reserve, takes
// off what new files pin, and an unreadable /proc/meminfo is an error, never
// "0 bytes left".
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
      return fmt::format("MemTotal: 24000000 kB\nMemAvailable: {} kB\nSlab: 1000 kB\nSReclaimable: {} kB\n",
                         available_kb, reclaimable_kb);
    }
    if (path == "/proc/sys/fs/file-nr") return fmt::format("{}\t0\t9999999\n", files);
    return ErrnoError(ENOENT, "open " + std::string(path));
  }
  Result<sys::Rlimit> GetRlimit(sys::RlimitKind) const override { return sys::Rlimit{1024, 1024}; }
  Result<uint64_t> EffectiveCapabilities() const override { return uint64_t{0}; }
  Result<std::vector<sys::LocalAddress>> LocalAddresses() const override { return std::vector<sys::LocalAddress>{}; }
  std::string Describe() const override { return "fake"; }

  bool meminfo_ok = true;
  uint64_t available_kb = 10'000'000, reclaimable_kb = 100'000, files = 1000;
};

TEST(MemoryGuard, TripsOnlyUnderTheReserve) {
  FakeBox box;
  auto guard = MemoryGuard::Start(box, 2'000'000ull * 1024);
  ASSERT_TRUE(guard) << guard.error().ToString();
  auto c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->tripped);
  box.available_kb = 1'999'999;
  c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->tripped);
  EXPECT_EQ(c->usable, 1'999'999ull * 1024);
}

TEST(MemoryGuard, TakesOffWhatNewFilesPin) {
  FakeBox box;
  auto guard = MemoryGuard::Start(box, 1ull << 30);
  ASSERT_TRUE(guard);
  // 1M new files, and SReclaimable grew by 2 GiB: at 1,059 B each (no
  // slabinfo here) the files pin about 1 GiB of it, which is not available.
  box.files += 1'000'000;
  box.reclaimable_kb += 2 * 1024 * 1024;
  box.available_kb = 3 * 1024 * 1024;
  auto c = guard->Read();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->usable, (3ull << 30) - 1'000'000ull * 1059);
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

#include "userland/tcp/conn_table.h"

#include <sys/mman.h>

#include <bit>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace tcpmax::userland::tcp {
namespace {

constexpr uint64_t kInitialCapacity = 1024;

constexpr size_t kPage = 4096;

void* Map(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  // Advice only: where THP is off, the table works on 4 KiB pages.
  if (bytes >= (2u << 20)) (void)madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

Result<void> Populate(void* p, uint64_t bytes) {
  if (p == nullptr || bytes == 0) return {};
  if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0) return {};
  if (errno != EINVAL) return ErrnoError("MADV_POPULATE_WRITE on " + std::to_string(bytes) + " bytes of table");
  // Before Linux 5.14: one write per page (the slots are zero; writing zero keeps them so).
  auto* b = static_cast<volatile uint8_t*>(p);
  for (uint64_t off = 0; off < bytes; off += kPage) b[off] = 0;
  return {};
}

}  // namespace

ConnTable::ConnTable(uint64_t hash_seed, bool v6) : v6_(v6), seed_(hash_seed | 1) {}

void ConnTable::Release() {
  if (slots_ != nullptr) munmap(slots_, capacity() * sizeof(Conn));
  if (prefixes_ != nullptr) munmap(prefixes_, capacity() * sizeof(uint16_t));
  slots_ = nullptr;
  prefixes_ = nullptr;
}

ConnTable::~ConnTable() { Release(); }

ConnTable::ConnTable(ConnTable&& o) noexcept
    : v6_(o.v6_), slots_(std::exchange(o.slots_, nullptr)), prefixes_(std::exchange(o.prefixes_, nullptr)),
      mask_(std::exchange(o.mask_, 0)), size_(std::exchange(o.size_, 0)), seed_(o.seed_) {}

ConnTable& ConnTable::operator=(ConnTable&& o) noexcept {
  if (this != &o) {
    Release();
    v6_ = o.v6_;
    slots_ = std::exchange(o.slots_, nullptr);
    prefixes_ = std::exchange(o.prefixes_, nullptr);
    mask_ = std::exchange(o.mask_, 0);
    size_ = std::exchange(o.size_, 0);
    seed_ = o.seed_;
  }
  return *this;
}

uint64_t ConnTable::Home(const ConnKey& k) const { return k.Hash(seed_) & mask_; }

Result<void> ConnTable::Prefault() {
  if (slots_ == nullptr) return {};
  if (auto r = Populate(slots_, capacity() * sizeof(Conn)); !r) return r;
  return Populate(prefixes_, prefixes_ ? capacity() * sizeof(uint16_t) : 0);
}

Result<void> ConnTable::Reserve(uint64_t n) {
  uint64_t want = std::bit_ceil(std::max<uint64_t>(kInitialCapacity, n + n / 3 + 1));
  if (slots_ != nullptr && want <= capacity()) return {};
  return Rehash(want);
}

Result<void> ConnTable::Rehash(uint64_t new_capacity) {
  uint64_t bytes = new_capacity * sizeof(Conn);
  auto* fresh = static_cast<Conn*>(Map(bytes));
  if (fresh == nullptr) return ErrnoError("mmap connection table of " + std::to_string(bytes) + " bytes");
  uint16_t* fresh_prefixes = nullptr;
  if (v6_) {
    fresh_prefixes = static_cast<uint16_t*>(Map(new_capacity * sizeof(uint16_t)));
    if (fresh_prefixes == nullptr) {
      int e = errno;
      munmap(fresh, bytes);
      return ErrnoError(e, "mmap connection table prefixes of " + std::to_string(new_capacity * 2) + " bytes");
    }
  }
  ConnTable old(seed_, v6_);
  old.slots_ = std::exchange(slots_, fresh);
  old.prefixes_ = std::exchange(prefixes_, fresh_prefixes);
  old.mask_ = std::exchange(mask_, new_capacity - 1);
  uint64_t old_capacity = old.slots_ ? old.capacity() : 0;
  for (uint64_t i = 0; i < old_capacity; ++i) {
    if (!old.slots_[i].used()) continue;
    ConnKey k = old.KeyOf(old.slots_[i]);
    uint64_t j = Home(k);
    while (slots_[j].used()) j = (j + 1) & mask_;
    slots_[j] = old.slots_[i];
    if (prefixes_) prefixes_[j] = k.prefix;
  }
  return {};  // `old` unmaps the previous arrays
}

Conn* ConnTable::Find(const ConnKey& k) {
  if (slots_ == nullptr) return nullptr;
  for (uint64_t i = Home(k);; i = (i + 1) & mask_) {
    Conn& c = slots_[i];
    if (!c.used()) return nullptr;
    if (c.peer_ip == k.peer_ip && c.peer_port == k.peer_port && c.local_index() == k.local_index &&
        (prefixes_ == nullptr || prefixes_[i] == k.prefix)) {
      return &c;
    }
  }
}

Result<Conn*> ConnTable::Insert(const ConnKey& k) {
  if (slots_ == nullptr || (size_ + 1) * 4 > capacity() * 3) {
    auto r = Rehash(slots_ == nullptr ? kInitialCapacity : capacity() * 2);
    if (!r) return tl::unexpected(r.error());
  }
  uint64_t i = Home(k);
  while (slots_[i].used()) i = (i + 1) & mask_;
  Conn& c = slots_[i];
  c = Conn{k.peer_ip, k.peer_port, uint16_t(k.local_index & 0x7f), 0, 0};
  if (prefixes_) prefixes_[i] = k.prefix;
  ++size_;
  return &c;
}

void ConnTable::Erase(Conn* c) {
  // Backward-shift deletion (Knuth 6.4 algorithm R): pull later members of the
  // probe run into the hole so lookups never stop early.
  uint64_t hole = uint64_t(c - slots_);
  for (uint64_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    if (!slots_[j].used()) break;
    uint64_t home = Home(KeyOf(slots_[j]));
    // Move j into the hole unless its home lies cyclically in (hole, j].
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    if (prefixes_) prefixes_[hole] = prefixes_[j];
    hole = j;
  }
  slots_[hole] = Conn{0, 0, 0, 0, 0};
  if (prefixes_) prefixes_[hole] = 0;
  --size_;
}

}  // namespace tcpmax::userland::tcp

#include "userland/tcp/conn_table.h"

#include <sys/mman.h>

#include <bit>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace tcpmax::userland::tcp {
namespace {

constexpr uint64_t kInitialCapacity = 1024;

Result<Conn*> MapSlots(uint64_t capacity) {
  size_t bytes = capacity * sizeof(Conn);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return ErrnoError("mmap connection table of " + std::to_string(bytes) + " bytes");
  return static_cast<Conn*>(p);
}

void UnmapSlots(Conn* p, uint64_t capacity) {
  if (p != nullptr) munmap(p, capacity * sizeof(Conn));
}

}  // namespace

ConnTable::ConnTable(uint64_t hash_seed) : seed_(hash_seed | 1) {}

ConnTable::~ConnTable() { UnmapSlots(slots_, slots_ ? capacity() : 0); }

ConnTable::ConnTable(ConnTable&& o) noexcept
    : slots_(std::exchange(o.slots_, nullptr)), mask_(std::exchange(o.mask_, 0)),
      size_(std::exchange(o.size_, 0)), seed_(o.seed_) {}

ConnTable& ConnTable::operator=(ConnTable&& o) noexcept {
  if (this != &o) {
    UnmapSlots(slots_, slots_ ? capacity() : 0);
    slots_ = std::exchange(o.slots_, nullptr);
    mask_ = std::exchange(o.mask_, 0);
    size_ = std::exchange(o.size_, 0);
    seed_ = o.seed_;
  }
  return *this;
}

uint64_t ConnTable::Home(const ConnKey& k) const {
  // A keyed 64-bit mix (the murmur3 finalizer over key ^ seed): the seed keeps
  // peers from choosing colliding keys without knowing it.
  uint64_t x = ((uint64_t(k.peer_ip) << 32) | (uint64_t(k.peer_port) << 16) | k.local_index) ^ seed_;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x & mask_;
}

Result<void> ConnTable::Reserve(uint64_t n) {
  uint64_t want = std::bit_ceil(std::max<uint64_t>(kInitialCapacity, n + n / 3 + 1));
  if (slots_ != nullptr && want <= capacity()) return {};
  return Rehash(want);
}

Result<void> ConnTable::Rehash(uint64_t new_capacity) {
  auto fresh = MapSlots(new_capacity);
  if (!fresh) return tl::unexpected(fresh.error());
  Conn* old = slots_;
  uint64_t old_capacity = old ? capacity() : 0;
  slots_ = *fresh;
  mask_ = new_capacity - 1;
  for (uint64_t i = 0; i < old_capacity; ++i) {
    if (!old[i].used()) continue;
    uint64_t j = Home(old[i].key());
    while (slots_[j].used()) j = (j + 1) & mask_;
    slots_[j] = old[i];
  }
  UnmapSlots(old, old_capacity);
  return {};
}

Conn* ConnTable::Find(const ConnKey& k) {
  if (slots_ == nullptr) return nullptr;
  for (uint64_t i = Home(k);; i = (i + 1) & mask_) {
    Conn& c = slots_[i];
    if (!c.used()) return nullptr;
    if (c.peer_ip == k.peer_ip && c.peer_port == k.peer_port && c.local_index() == k.local_index) return &c;
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
  ++size_;
  return &c;
}

void ConnTable::Erase(Conn* c) {
  // Backward-shift deletion (Knuth 6.4 algorithm R): pull later members of the
  // probe run into the hole so lookups never stop early.
  uint64_t hole = uint64_t(c - slots_);
  for (uint64_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    if (!slots_[j].used()) break;
    uint64_t home = Home(slots_[j].key());
    // Move j into the hole unless its home lies cyclically in (hole, j].
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Conn{0, 0, 0, 0, 0};
  --size_;
}

}  // namespace tcpmax::userland::tcp

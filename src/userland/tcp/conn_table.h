// ConnTable: the server's compact connection table. Open addressing with
// linear probing and backward-shift deletion (no tombstones), 16 bytes per
// slot, capacity a power of two, grown (doubled) past 3/4 load. At a load
// between 3/8 and 3/4 that is 21-43 bytes per connection including spare
// capacity; sized up front with Reserve() it stays near 27 B at 10M.
//
// A slot: peer address and port, a 16-bit word packing the local port index,
// state bits, the timestamps bit, the MSS index and the peer's window scale,
// then rcv_nxt and snd_nxt.
//
// IPv6 (a table made with v6 = true): the slot keeps the low 32 bits of the
// peer's address, and a parallel array keeps, per slot, a 16-bit index of
// the peer's /96 prefix in the engine's PeerPrefixes (peer_prefixes.h): 18
// bytes per slot instead of 16, so 16.8-24.2 B per connection at the loads
// above, against the 34+ a 16-byte address in the slot would cost. An IPv4
// table has no such array: its cost is unchanged.
// Slots (and prefixes) live in anonymous mappings (no allocation per
// connection), advised as transparent huge pages (MADV_HUGEPAGE): a lookup
// is a random access into up to gigabytes, and 2 MiB pages keep its TLB miss
// cheap. Prefault() touches every page before connections arrive, so the
// first touches of a large table are not paid during the climb.
// Thread-safety: none; one engine thread owns a table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace tcpmax::userland::tcp {

// The murmur3 64-bit finalizer: a cheap full-avalanche mix.
inline uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

struct ConnKey {
  uint32_t peer_ip = 0;       // IPv4 address, or the low 32 bits of an IPv6 one
  uint16_t peer_port = 0;
  uint16_t local_index = 0;   // index into the server's listening ports; < 128
  uint16_t prefix = 0;        // IPv6: index of the peer's /96 prefix; IPv4: 0
  friend bool operator==(const ConnKey&, const ConnKey&) = default;

  // A keyed 64-bit hash (Mix64 over the packed key ^ seed, an IPv6 prefix
  // index folded in by an odd multiplier): the seed keeps peers from
  // choosing colliding keys without knowing it.
  uint64_t Hash(uint64_t seed) const {
    uint64_t x = ((uint64_t(peer_ip) << 32) | (uint64_t(peer_port) << 16) | local_index) ^ seed;
    return Mix64(x + uint64_t(prefix) * 0x9e3779b97f4a7c15ull);
  }
};

// Connection states the server stores (RFC 9293 3.3.2). LISTEN and
// SYN-RECEIVED are stateless (SYN cookies); CLOSE-WAIT is never stored since
// the server closes as soon as it sees the peer's FIN.
enum class ConnState : uint8_t { kEstablished = 0, kLastAck = 1 };

struct Conn {
  uint32_t peer_ip;
  uint16_t peer_port;  // 0: the slot is free (a packet from port 0 never gets this far)
  uint16_t meta;       // bits 0-6 local index, 7-8 state, 9 ts_ok, 10-11 mss index, 12-15 peer window scale
  uint32_t rcv_nxt;
  uint32_t snd_nxt;

  static constexpr uint32_t kNoWindowScale = 15;
  uint16_t local_index() const { return meta & 0x7f; }
  ConnState state() const { return ConnState((meta >> 7) & 3); }
  void set_state(ConnState s) { Put(7, 3, uint32_t(s)); }
  bool ts_ok() const { return (meta >> 9) & 1; }
  void set_ts_ok(bool v) { Put(9, 1, v ? 1 : 0); }
  uint32_t mss_index() const { return (meta >> 10) & 3; }
  void set_mss_index(uint32_t i) { Put(10, 3, i); }
  // The peer's window shift (RFC 7323 2.3), or kNoWindowScale.
  uint32_t peer_wscale() const { return (meta >> 12) & 15; }
  void set_peer_wscale(uint32_t w) { Put(12, 15, w); }
  bool used() const { return peer_port != 0; }

 private:
  void Put(int shift, uint32_t mask, uint32_t v) {
    meta = uint16_t((meta & ~(mask << shift)) | ((v & mask) << shift));
  }
};
static_assert(sizeof(Conn) == 16);

class ConnTable {
 public:
  static constexpr uint32_t kMaxLocalIndex = 128;

  // `v6`: keys carry a prefix index (a parallel array of 2 bytes per slot).
  explicit ConnTable(uint64_t hash_seed, bool v6 = false);
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;
  ConnTable(ConnTable&& o) noexcept;
  ConnTable& operator=(ConnTable&& o) noexcept;

  // Makes room for `n` connections without growing (capacity >= n * 4/3).
  Result<void> Reserve(uint64_t n);
  // Faults in every page of the table now (MADV_POPULATE_WRITE, or a write
  // per page where the kernel lacks it). Error when memory cannot be had.
  Result<void> Prefault();

  Conn* Find(const ConnKey& k);
  // Inserts `k` (REQUIRES: not present) with state kEstablished and zero
  // sequence numbers; grows when needed. Error when memory cannot be mapped.
  Result<Conn*> Insert(const ConnKey& k);
  // Removes the slot `c` points to (REQUIRES: c came from Find/Insert and no
  // Insert/Erase happened since). Pointers to other slots may move.
  void Erase(Conn* c);

  // The key of a slot (REQUIRES: c came from Find/Insert, still valid).
  ConnKey KeyOf(const Conn& c) const {
    return ConnKey{c.peer_ip, c.peer_port, c.local_index(), prefixes_ ? prefixes_[&c - slots_] : uint16_t(0)};
  }

  bool v6() const { return v6_; }
  uint64_t size() const { return size_; }
  uint64_t capacity() const { return mask_ + 1; }
  static constexpr uint64_t SlotBytes(bool v6) { return sizeof(Conn) + (v6 ? sizeof(uint16_t) : 0); }
  uint64_t bytes() const { return slots_ ? capacity() * SlotBytes(v6_) : 0; }
  // Visits every connection (for statistics and tests).
  template <typename F>
  void ForEach(F&& f) const {
    for (uint64_t i = 0; i <= mask_; ++i)
      if (slots_[i].used()) f(slots_[i]);
  }

 private:
  uint64_t Home(const ConnKey& k) const;
  Result<void> Rehash(uint64_t new_capacity);
  void Release();

  bool v6_ = false;
  Conn* slots_ = nullptr;
  uint16_t* prefixes_ = nullptr;  // v6 only: one per slot
  uint64_t mask_ = 0;
  uint64_t size_ = 0;
  uint64_t seed_;
};

}  // namespace tcpmax::userland::tcp

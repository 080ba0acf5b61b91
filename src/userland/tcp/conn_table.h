// ConnTable: the server's compact connection table. Open addressing with
// linear probing and backward-shift deletion (no tombstones), 16 bytes per
// slot, capacity a power of two, grown (doubled) past 3/4 load. At a load
// between 3/8 and 3/4 that is 21-43 bytes per connection including spare
// capacity; sized up front with Reserve() it stays near 27 B at 10M.
//
// A slot: peer address and port, a 16-bit word packing the local port index,
// state bits and the negotiated-timestamps bit, then rcv_nxt and snd_nxt.
// Slots live in one anonymous mapping (no allocation per connection).
// Thread-safety: none; one engine thread owns a table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace tcpmax::userland::tcp {

struct ConnKey {
  uint32_t peer_ip = 0;
  uint16_t peer_port = 0;
  uint16_t local_index = 0;   // index into the server's listening ports; < 1024
  friend bool operator==(const ConnKey&, const ConnKey&) = default;
};

// Connection states the server stores (RFC 9293 3.3.2). LISTEN and
// SYN-RECEIVED are stateless (SYN cookies); CLOSE-WAIT is never stored since
// the server closes as soon as it sees the peer's FIN.
enum class ConnState : uint8_t { kEstablished = 0, kLastAck = 1 };

struct Conn {
  uint32_t peer_ip;
  uint16_t peer_port;
  uint16_t meta;       // bit 15 used, bits 0-9 local index, 10-11 state, 12 ts_ok, 13-14 mss index
  uint32_t rcv_nxt;
  uint32_t snd_nxt;

  static constexpr uint16_t kUsed = 0x8000;
  uint16_t local_index() const { return meta & 0x3ff; }
  ConnState state() const { return ConnState((meta >> 10) & 3); }
  void set_state(ConnState s) { meta = uint16_t((meta & ~0x0c00) | (uint16_t(s) << 10)); }
  bool ts_ok() const { return (meta & 0x1000) != 0; }
  void set_ts_ok(bool v) { meta = uint16_t(v ? (meta | 0x1000) : (meta & ~0x1000)); }
  uint32_t mss_index() const { return (meta >> 13) & 3; }
  void set_mss_index(uint32_t i) { meta = uint16_t((meta & ~0x6000) | ((i & 3) << 13)); }
  bool used() const { return (meta & kUsed) != 0; }
  ConnKey key() const { return ConnKey{peer_ip, peer_port, local_index()}; }
};
static_assert(sizeof(Conn) == 16);

class ConnTable {
 public:
  static constexpr uint32_t kMaxLocalIndex = 1024;

  explicit ConnTable(uint64_t hash_seed);
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;
  ConnTable(ConnTable&& o) noexcept;
  ConnTable& operator=(ConnTable&& o) noexcept;

  // Makes room for `n` connections without growing (capacity >= n * 4/3).
  Result<void> Reserve(uint64_t n);

  Conn* Find(const ConnKey& k);
  // Inserts `k` (REQUIRES: not present) with state kEstablished and zero
  // sequence numbers; grows when needed. Error when memory cannot be mapped.
  Result<Conn*> Insert(const ConnKey& k);
  // Removes the slot `c` points to (REQUIRES: c came from Find/Insert and no
  // Insert/Erase happened since). Pointers to other slots may move.
  void Erase(Conn* c);

  uint64_t size() const { return size_; }
  uint64_t capacity() const { return mask_ + 1; }
  uint64_t bytes() const { return capacity() * sizeof(Conn); }
  // Visits every connection (for statistics and tests).
  template <typename F>
  void ForEach(F&& f) const {
    for (uint64_t i = 0; i <= mask_; ++i)
      if (slots_[i].used()) f(slots_[i]);
  }

 private:
  uint64_t Home(const ConnKey& k) const;
  Result<void> Rehash(uint64_t new_capacity);

  Conn* slots_ = nullptr;
  uint64_t mask_ = 0;
  uint64_t size_ = 0;
  uint64_t seed_;
};

}  // namespace tcpmax::userland::tcp

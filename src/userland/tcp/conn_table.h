// ConnTable: the server's compact connection table. Open addressing with
// linear probing and backward-shift deletion (no tombstones), 16 bytes per
// slot, capacity a power of two, grown (doubled) past 3/4 load. At a load
// between 3/8 and 3/4 that is 21-43 bytes per connection including spare
// capacity; sized up front with Reserve() it stays near 27 B at 10M.
//
// A slot: peer address and port, a 16-bit word packing the local port index,
// state bits, the timestamps bit, the MSS index and the peer's window scale,
// then rcv_nxt and snd_nxt.
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
  uint16_t local_index = 0;   // index into the server's listening ports; < 128
  friend bool operator==(const ConnKey&, const ConnKey&) = default;
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
  ConnKey key() const { return ConnKey{peer_ip, peer_port, local_index()}; }

 private:
  void Put(int shift, uint32_t mask, uint32_t v) {
    meta = uint16_t((meta & ~(mask << shift)) | ((v & mask) << shift));
  }
};
static_assert(sizeof(Conn) == 16);

class ConnTable {
 public:
  static constexpr uint32_t kMaxLocalIndex = 128;

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

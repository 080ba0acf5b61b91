// UringSends: the sends of many connections on one io_uring, each
// connection's bytes in order. One send is in flight per slot (a heap block
// the kernel reads until it completes); bytes produced meanwhile wait behind
// it and go out as one send when it completes; a short send resumes where it
// stopped. Used by load's and serve's io_uring engines for session output.
//
// A send's user_data is (op << 56) | block pointer (user space lies below
// 2^56); the block names the slot and the connection's generation, so the
// owner can tell a completion of the slot's previous connection apart.
// Blocks in flight are on an intrusive list and freed by the destructor,
// which must run after the ring is gone (the kernel reads them until then).
// Thread-safety: none; the ring's thread only.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tcpmax::sys {

class UringSends {
 public:
  // `slots`: the ring's file table size; `op`: the user_data tag (top byte)
  // of our sends; `sqe`: the owner's way to get an SQE (it submits when full).
  UringSends(unsigned slots, uint8_t op, std::function<io_uring_sqe*()> sqe);
  UringSends(const UringSends&) = delete;
  UringSends& operator=(const UringSends&) = delete;
  ~UringSends();

  bool Owns(uint64_t user_data) const { return (user_data >> 56) == op_; }
  // Queues `bytes` on fixed file `slot` for its connection `gen`. False: no memory.
  bool Send(uint32_t slot, uint32_t gen, std::string_view bytes);
  // A send of `slot` is in flight.
  bool busy(uint32_t slot) const { return sending_[slot] != 0; }
  // Bytes of `slot` queued behind its send in flight.
  size_t waiting(uint32_t slot) const {
    auto it = waiting_.find(slot);
    return it == waiting_.end() ? 0 : it->second.size();
  }
  // The slot's connection ended: drops what waits; the send in flight, if
  // any, completes as stale.
  void Forget(uint32_t slot);

  enum class Outcome : uint8_t {
    kStale,    // not the slot's current connection: nothing to do
    kPending,  // more of the slot's bytes went out (the rest, or what waited)
    kDrained,  // everything queued on the slot is sent
    kFailed,   // the send failed with `error` (or no memory): the owner closes
  };
  struct Completion {
    Outcome outcome;
    uint32_t slot;
    int error;
  };
  // One of our sends completed (`Owns(user_data)`). `current(slot, gen)`
  // says whether the slot still holds that connection.
  Completion Complete(uint64_t user_data, int res, const std::function<bool(uint32_t, uint32_t)>& current);

 private:
  struct Block;
  void Post(Block* b);
  void Free(Block* b);

  uint8_t op_;
  std::function<io_uring_sqe*()> sqe_;
  std::vector<uint8_t> sending_;                      // by slot
  std::unordered_map<uint32_t, std::string> waiting_;  // by slot: bytes behind the send in flight
  Block* head_ = nullptr;                              // blocks in flight
};

}  // namespace tcpmax::sys

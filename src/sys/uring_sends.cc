#include "sys/uring_sends.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace tcpmax::sys {

struct UringSends::Block {
  Block* prev;
  Block* next;
  uint32_t slot;
  uint32_t gen;
  uint32_t len;
  uint32_t off;  // bytes already sent
  char data[];
};

UringSends::UringSends(unsigned slots, uint8_t op, std::function<io_uring_sqe*()> sqe)
    : op_(op), sqe_(std::move(sqe)), sending_(slots, 0) {}

UringSends::~UringSends() {
  while (head_ != nullptr) Free(head_);
}

bool UringSends::Send(uint32_t slot, uint32_t gen, std::string_view bytes) {
  if (bytes.empty()) return true;
  if (sending_[slot]) {
    waiting_[slot].append(bytes);
    return true;
  }
  auto* b = static_cast<Block*>(std::malloc(sizeof(Block) + bytes.size()));
  if (b == nullptr) return false;
  b->slot = slot;
  b->gen = gen;
  b->len = static_cast<uint32_t>(bytes.size());
  b->off = 0;
  std::memcpy(b->data, bytes.data(), bytes.size());
  b->prev = nullptr;
  b->next = head_;
  if (head_ != nullptr) head_->prev = b;
  head_ = b;
  Post(b);
  return true;
}

void UringSends::Post(Block* b) {
  sending_[b->slot] = 1;
  io_uring_sqe* sqe = sqe_();
  io_uring_prep_send(sqe, static_cast<int>(b->slot), b->data + b->off, b->len - b->off, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, (uint64_t{op_} << 56) | reinterpret_cast<uint64_t>(b));
}

void UringSends::Free(Block* b) {
  if (b->prev != nullptr) b->prev->next = b->next;
  if (b->next != nullptr) b->next->prev = b->prev;
  if (head_ == b) head_ = b->next;
  std::free(b);
}

void UringSends::Forget(uint32_t slot) {
  sending_[slot] = 0;
  waiting_.erase(slot);
}

UringSends::Completion UringSends::Complete(uint64_t user_data, int res,
                                            const std::function<bool(uint32_t, uint32_t)>& current) {
  auto* b = reinterpret_cast<Block*>(user_data & ((uint64_t{1} << 56) - 1));
  uint32_t slot = b->slot;
  bool live = current(slot, b->gen);
  if (live && res >= 0 && b->off + static_cast<uint32_t>(res) < b->len) {
    b->off += static_cast<uint32_t>(res);  // short send: the rest first
    Post(b);
    return {Outcome::kPending, slot, 0};
  }
  uint32_t gen = b->gen;
  Free(b);
  if (!live) return {Outcome::kStale, slot, 0};
  sending_[slot] = 0;
  if (res < 0) return {Outcome::kFailed, slot, -res};
  auto it = waiting_.find(slot);
  if (it == waiting_.end()) return {Outcome::kDrained, slot, 0};
  std::string rest = std::move(it->second);
  waiting_.erase(it);
  if (!Send(slot, gen, rest)) return {Outcome::kFailed, slot, ENOMEM};
  return {Outcome::kPending, slot, 0};
}

}  // namespace tcpmax::sys

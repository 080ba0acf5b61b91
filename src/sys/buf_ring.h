// BufRing: one io_uring provided-buffer ring (IORING_REGISTER_PBUF_RING) and
// the buffers it hands out: `count` buffers of `size` bytes in one anonymous
// mapping, registered under buffer group `bgid` of one ring.
//
// A recv with IOSQE_BUFFER_SELECT picks a buffer; its CQE carries the buffer
// id (cqe->flags >> IORING_CQE_BUFFER_SHIFT). The owner gives the buffer back
// with Recycle(bid) once the data is consumed. liburing 2.3 (Debian 12) has
// no io_uring_setup_buf_ring, so this does the mapping and registration.
//
// Owns the mapping; the io_uring must outlive it (the destructor unregisters).
// Thread-safety: none; used by the ring's thread only.
#pragma once

#include <liburing.h>

#include <cstdint>

#include "core/error.h"

namespace tcpmax::sys {

class BufRing {
 public:
  BufRing() = default;
  BufRing(BufRing&& o) noexcept;
  BufRing& operator=(BufRing&& o) noexcept;
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;
  ~BufRing();

  // REQUIRES: count is a power of two, 1 <= count <= 32768.
  static Result<BufRing> Create(io_uring* ring, uint16_t bgid, unsigned count, unsigned size);

  uint16_t bgid() const { return bgid_; }
  unsigned size() const { return size_; }
  char* Buffer(uint16_t bid) const { return buffers_ + static_cast<size_t>(bid) * size_; }
  // Hands buffer `bid` back to the kernel.
  void Recycle(uint16_t bid);
  // Bytes of user memory this ring maps (entries + buffers).
  size_t mapped_bytes() const { return map_len_; }

 private:
  void Release();

  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* buffers_ = nullptr;
  size_t map_len_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  uint16_t bgid_ = 0;
};

}  // namespace tcpmax::sys

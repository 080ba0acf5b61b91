#include "sys/buf_ring.h"

#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include <fmt/format.h>

namespace tcpmax::sys {

BufRing::BufRing(BufRing&& o) noexcept { *this = std::move(o); }

BufRing& BufRing::operator=(BufRing&& o) noexcept {
  if (this != &o) {
    Release();
    ring_ = std::exchange(o.ring_, nullptr);
    br_ = std::exchange(o.br_, nullptr);
    buffers_ = std::exchange(o.buffers_, nullptr);
    map_len_ = std::exchange(o.map_len_, 0);
    count_ = std::exchange(o.count_, 0);
    size_ = std::exchange(o.size_, 0);
    bgid_ = std::exchange(o.bgid_, 0);
  }
  return *this;
}

BufRing::~BufRing() { Release(); }

void BufRing::Release() {
  if (br_ == nullptr) return;
  if (ring_ != nullptr) io_uring_unregister_buf_ring(ring_, bgid_);
  munmap(br_, map_len_);
  br_ = nullptr;
  buffers_ = nullptr;
}

Result<BufRing> BufRing::Create(io_uring* ring, uint16_t bgid, unsigned count, unsigned size) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0)
    return PlainError(fmt::format("buffer ring: count {} is not a power of two in 1..32768", count));
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t entries_len = (count * sizeof(io_uring_buf) + page - 1) / page * page;
  size_t len = entries_len + static_cast<size_t>(count) * size;
  void* mem = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return ErrnoError(fmt::format("buffer ring: mmap {} bytes", len));

  BufRing r;
  r.br_ = static_cast<io_uring_buf_ring*>(mem);
  r.buffers_ = static_cast<char*>(mem) + entries_len;
  r.map_len_ = len;
  r.count_ = count;
  r.size_ = size;
  r.bgid_ = bgid;

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = bgid;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) return ErrnoError(-rc, fmt::format("io_uring_register_buf_ring (group {})", bgid));
  r.ring_ = ring;

  io_uring_buf_ring_init(r.br_);
  int mask = io_uring_buf_ring_mask(count);
  for (unsigned i = 0; i < count; ++i)
    io_uring_buf_ring_add(r.br_, r.Buffer(static_cast<uint16_t>(i)), size, static_cast<uint16_t>(i), mask,
                          static_cast<int>(i));
  io_uring_buf_ring_advance(r.br_, static_cast<int>(count));
  return r;
}

void BufRing::Recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, Buffer(bid), size_, bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace tcpmax::sys

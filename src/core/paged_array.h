// PagedArray<T>: a fixed number of default-constructed T, indexed like a
// vector, whose storage is allocated a page (kPage elements) at a time on
// first use. For per-slot state of a table that is sized for the worst case
// (an io_uring file table of RLIMIT_NOFILE slots) but mostly empty: memory
// follows the slots used, not the table's size.
// Thread-safety: none (one owner thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tcpmax {

template <typename T, size_t kPage = 512>
class PagedArray {
 public:
  PagedArray() = default;
  explicit PagedArray(size_t n) : n_(n), pages_((n + kPage - 1) / kPage) {}

  size_t size() const { return n_; }
  // REQUIRES: i < size(). Allocates i's page when it has none yet.
  T& operator[](size_t i) {
    std::unique_ptr<T[]>& page = pages_[i / kPage];
    if (!page) page = std::make_unique<T[]>(kPage);
    return page[i % kPage];
  }
  // Null when i's page was never touched (every T there is default).
  T* Find(size_t i) {
    std::unique_ptr<T[]>& page = pages_[i / kPage];
    return page ? &page[i % kPage] : nullptr;
  }

 private:
  size_t n_ = 0;
  std::vector<std::unique_ptr<T[]>> pages_;
};

}  // namespace tcpmax

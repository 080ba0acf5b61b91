// Histogram: log-bucketed latency histogram in the HDR style.
//
// Values (nanoseconds, or any unsigned unit) land in one of 64 power-of-two
// magnitudes split into kSub linear sub-buckets, so any recorded value is
// reported within 1/kSub (about 3%) of its true value. Fixed size (no
// allocation after construction), so each worker owns one and a reporter
// merges them. Thread-safety: none; one writer, merge under the caller's sync.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace tcpmax {

class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  void Record(uint64_t value);
  void Merge(const Histogram& other);
  void Clear() { *this = Histogram(); }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  uint64_t sum() const { return sum_; }
  // The value at quantile q in [0, 1] (0.99 for p99): an upper bound within ~3%.
  uint64_t Quantile(double q) const;
  // Samples recorded at or below UpperOf(bucket) (exact: whole buckets).
  uint64_t CountThrough(int bucket) const;

  // The exact contents, for lossless files and merging across processes:
  // every non-empty bucket (index, count) in index order, plus the totals.
  // Bucket `i` holds the values LowerOf(i) ..= UpperOf(i).
  struct Bucket {
    int index = 0;
    uint64_t count = 0;
    friend bool operator==(const Bucket&, const Bucket&) = default;
  };
  std::vector<Bucket> Buckets() const;
  // The inverse of Buckets() with count(), sum(), min(), max(): nullopt when
  // an index is out of range, the counts do not add up to `count`, or min/max
  // are not inside the first/last bucket.
  static std::optional<Histogram> FromBuckets(const std::vector<Bucket>& buckets, uint64_t count, uint64_t sum,
                                              uint64_t min, uint64_t max);
  friend bool operator==(const Histogram&, const Histogram&) = default;

  static int BucketOf(uint64_t v);
  static uint64_t LowerOf(int bucket);
  static uint64_t UpperOf(int bucket);

 private:

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace tcpmax

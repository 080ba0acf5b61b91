#include "core/histogram.h"

#include <algorithm>
#include <cmath>

namespace tcpmax {

// Values below kSub map one-to-one; above, the top kSubBits+1 bits select the
// bucket inside the value's power of two.
int Histogram::BucketOf(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);           // >= kSubBits
  int shift = msb - kSubBits;
  int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

uint64_t Histogram::UpperOf(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int shift = bucket / kSub - 1;
  uint64_t sub = static_cast<uint64_t>(bucket % kSub);
  uint64_t base = (uint64_t{1} << (shift + kSubBits)) | (sub << shift);
  return base + ((uint64_t{1} << shift) - 1);
}

uint64_t Histogram::LowerOf(int bucket) {
  if (bucket < kSub) return static_cast<uint64_t>(bucket);
  int shift = bucket / kSub - 1;
  uint64_t sub = static_cast<uint64_t>(bucket % kSub);
  return (uint64_t{1} << (shift + kSubBits)) | (sub << shift);
}

void Histogram::Record(uint64_t value) {
  ++counts_[BucketOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t Histogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(UpperOf(i), max_);
  }
  return max_;
}

uint64_t Histogram::CountThrough(int bucket) const {
  uint64_t n = 0;
  for (int i = 0; i <= bucket && i < kBuckets; ++i) n += counts_[i];
  return n;
}

std::vector<Histogram::Bucket> Histogram::Buckets() const {
  std::vector<Bucket> out;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] != 0) out.push_back(Bucket{i, counts_[i]});
  }
  return out;
}

std::optional<Histogram> Histogram::FromBuckets(const std::vector<Bucket>& buckets, uint64_t count, uint64_t sum,
                                                uint64_t min, uint64_t max) {
  Histogram h;
  uint64_t total = 0;
  int first = kBuckets, last = -1;
  for (const Bucket& b : buckets) {
    if (b.index < 0 || b.index >= kBuckets || b.count == 0) return std::nullopt;
    h.counts_[b.index] += b.count;
    total += b.count;
    first = std::min(first, b.index);
    last = std::max(last, b.index);
  }
  if (total != count) return std::nullopt;
  if (count == 0) return (sum == 0 && max == 0) ? std::optional<Histogram>(h) : std::nullopt;
  if (BucketOf(min) != first || BucketOf(max) != last || min > max) return std::nullopt;
  h.count_ = count;
  h.sum_ = sum;
  h.min_ = min;
  h.max_ = max;
  return h;
}

}  // namespace tcpmax

#include "userland/tcp/reply_limit.h"

namespace tcpmax::userland::tcp {

ReplyLimiter::ReplyLimiter(uint32_t global_per_s, uint64_t interval_ns, uint64_t seed)
    : buckets_(kBuckets, 0), global_per_s_(global_per_s), interval_ns_(interval_ns), seed_(Mix64(seed | 1)),
      rng_(seed ^ 0x9e3779b97f4a7c15ull) {}

uint64_t ReplyLimiter::Random() {  // splitmix64
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool ReplyLimiter::PerConnection(const ConnKey& key, uint64_t now_ns) {
  if (interval_ns_ == 0) return true;
  uint64_t h = key.Hash(seed_);
  uint64_t& b = buckets_[h & (kBuckets - 1)];
  uint32_t tag = uint32_t(h >> 32);
  uint32_t now_ms = uint32_t(now_ns / 1'000'000) | 1;  // never 0 ("never replied")
  uint32_t last_ms = uint32_t(b);
  bool same = uint32_t(b >> 32) == tag && last_ms != 0;
  if (same && uint64_t(uint32_t(now_ms - last_ms)) * 1'000'000 < interval_ns_) return false;
  b = (uint64_t(tag) << 32) | now_ms;
  return true;
}

bool ReplyLimiter::AllowOutOfWindow(const ConnKey& key, uint64_t now_ns) { return PerConnection(key, now_ns); }

bool ReplyLimiter::AllowChallenge(const ConnKey& key, uint64_t now_ns) {
  if (global_per_s_ != 0) {
    if (!window_open_ || now_ns - window_start_ >= 1'000'000'000ull) {
      window_open_ = true;
      window_start_ = now_ns;
      used_ = 0;
      budget_ = global_per_s_ / 2 + uint32_t(Random() % global_per_s_);
    }
    if (used_ >= budget_) return false;
  }
  if (!PerConnection(key, now_ns)) return false;
  ++used_;
  return true;
}

}  // namespace tcpmax::userland::tcp

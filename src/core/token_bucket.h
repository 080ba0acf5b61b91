// TokenBucket: paces connection attempts to a rate (tokens per second) with
// a small burst, so `--rate 5k/s` opens about 5,000 connections each second
// without a thundering start. Rate 0 means unlimited.
// Thread-safety: none; each worker owns its bucket (the rate is split).
#pragma once

#include <algorithm>
#include <cstdint>

namespace tcpmax {

class TokenBucket {
 public:
  // `rate` tokens per second (0: unlimited); `burst` tokens at most banked.
  TokenBucket(double rate, double burst, uint64_t now_ns)
      : rate_(rate), burst_(std::max(1.0, burst)), tokens_(rate > 0 ? 1.0 : 0.0), last_ns_(now_ns) {}

  // Takes up to `want` tokens now; returns how many were taken.
  uint64_t Take(uint64_t now_ns, uint64_t want) {
    if (rate_ <= 0) return want;
    Refill(now_ns);
    auto got = static_cast<uint64_t>(std::min<double>(tokens_, static_cast<double>(want)));
    tokens_ -= static_cast<double>(got);
    return got;
  }

  // Nanoseconds until at least one token is available (0 if one is now).
  uint64_t NanosUntilToken(uint64_t now_ns) {
    if (rate_ <= 0) return 0;
    Refill(now_ns);
    if (tokens_ >= 1.0) return 0;
    return static_cast<uint64_t>((1.0 - tokens_) / rate_ * 1e9) + 1;
  }

  // Tokens available now, at most `cap`, without taking them: for callers
  // that learn only afterwards how many they used (Spend takes those).
  uint64_t Available(uint64_t now_ns, uint64_t cap) {
    if (rate_ <= 0) return cap;
    Refill(now_ns);
    return static_cast<uint64_t>(std::min<double>(tokens_, static_cast<double>(cap)));
  }
  void Spend(uint64_t n) {
    if (rate_ > 0) tokens_ -= static_cast<double>(n);
  }

  double rate() const { return rate_; }
  // A new rate from now on (tokens banked so far are kept, up to the new burst).
  void SetRate(double rate, uint64_t now_ns) {
    if (rate_ > 0) Refill(now_ns);
    last_ns_ = now_ns;
    rate_ = rate;
    burst_ = std::max(1.0, rate / 100);
    tokens_ = std::min(tokens_, burst_);
  }

 private:
  void Refill(uint64_t now_ns) {
    if (now_ns <= last_ns_) return;
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * rate_ / 1e9);
    last_ns_ = now_ns;
  }

  double rate_;
  double burst_;
  double tokens_;
  uint64_t last_ns_;
};

}  // namespace tcpmax

// ReplyLimiter: how often the server may answer segments it did not expect.
//
// RFC 5961 section 7 asks for challenge ACKs to be rate limited, and RFC 9293
// lets a stack rate-limit the ACKs it sends for unacceptable segments. A
// single global, fixed budget (this engine's first design, and Linux's before
// 2016) is a side channel: counting the challenge ACKs on one's own
// connection reveals whether another tuple is live (CVE-2016-5696, Cao et al.,
// USENIX Security 2016). So, as Linux does now:
//   - per connection: at most one limited reply per `interval` (Linux
//     tcp_invalid_ratelimit, 500 ms; tcp_oow_rate_limited). The last reply
//     time lives in a fixed table of buckets tagged with the connection, so
//     the 16-byte connection slot stays as it is; a bucket taken over by
//     another connection only loosens the limit, never blocks a reply to a
//     connection that has not had one;
//   - for challenge ACKs also a global budget per second, drawn anew each
//     second at random in [limit/2, 3*limit/2) (Linux commit 75ff39ccc1bd,
//     "tcp: make challenge acks less predictable").
// Thread-safety: none; one engine thread owns it.
#pragma once

#include <cstdint>
#include <vector>

#include "userland/tcp/conn_table.h"

namespace tcpmax::userland::tcp {

class ReplyLimiter {
 public:
  // `global_per_s` 0 disables the global budget; `interval_ns` 0 the
  // per-connection limit.
  ReplyLimiter(uint32_t global_per_s, uint64_t interval_ns, uint64_t seed);

  // May a reply to an unacceptable segment of `key` go out at `now_ns`?
  // Counts the reply when it may.
  bool AllowOutOfWindow(const ConnKey& key, uint64_t now_ns);
  // The same for a challenge ACK: the per-connection limit and the global,
  // randomised budget.
  bool AllowChallenge(const ConnKey& key, uint64_t now_ns);

  uint32_t budget() const { return budget_; }  // this second's global budget

 private:
  bool PerConnection(const ConnKey& key, uint64_t now_ns);
  uint64_t Random();

  static constexpr uint32_t kBuckets = 1u << 16;
  std::vector<uint64_t> buckets_;  // tag (32 bits) << 32 | last reply, ms (32 bits; 0 never)
  uint32_t global_per_s_;
  uint64_t interval_ns_;
  uint64_t seed_;
  uint64_t rng_;
  uint64_t window_start_ = 0;
  bool window_open_ = false;
  uint32_t budget_ = 0;
  uint32_t used_ = 0;
};

}  // namespace tcpmax::userland::tcp

#include "userland/tcp/syn_cookie.h"

namespace tcpmax::userland::tcp {
namespace {

constexpr uint32_t kCookieBits = 24;
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;

uint32_t Counter(uint64_t now_ns) { return uint32_t(now_ns / SynCookies::kPeriodNs); }

}  // namespace

uint32_t SynCookies::MssIndex(uint16_t peer_mss, bool v6) {
  const auto& table = MssTable(v6);
  uint32_t idx = 0;
  for (uint32_t i = 0; i < table.size(); ++i) {
    if (table[i] <= peer_mss) idx = i;
  }
  return idx;
}

uint32_t SynCookies::Hash(const SipKey& k, const FourTuple& t, uint32_t count) const {
  if (t.v6) {
    const uint64_t words[5] = {t.src_ip6.hi, t.src_ip6.lo, t.dst_ip6.hi, t.dst_ip6.lo,
                               (uint64_t(t.src_port) << 48) | (uint64_t(t.dst_port) << 32) | count};
    return uint32_t(SipHash24Words(k, words));
  }
  uint64_t m0 = (uint64_t(t.src_ip) << 32) | t.dst_ip;
  uint64_t m1 = (uint64_t(t.src_port) << 48) | (uint64_t(t.dst_port) << 32) | count;
  return uint32_t(SipHash24Words(k, m0, m1));
}

uint32_t SynCookies::Make(const FourTuple& t, uint32_t peer_isn, uint32_t mss_index, uint64_t now_ns) const {
  uint32_t count = Counter(now_ns);
  return Hash(k0_, t, 0) + peer_isn + (count << kCookieBits) +
         ((Hash(k1_, t, count) + mss_index) & kCookieMask);
}

std::optional<uint32_t> SynCookies::Check(const FourTuple& t, uint32_t peer_isn, uint32_t cookie,
                                          uint64_t now_ns) const {
  uint32_t count = Counter(now_ns);
  cookie -= Hash(k0_, t, 0) + peer_isn;
  // The top 8 bits now hold the counter the cookie was made with.
  uint32_t diff = (count - (cookie >> kCookieBits)) & (0xffffffffu >> kCookieBits);
  if (diff >= kMaxAge) return std::nullopt;
  uint32_t data = (cookie - Hash(k1_, t, count - diff)) & kCookieMask;
  if (data >= kMssTable.size()) return std::nullopt;
  return data;
}

}  // namespace tcpmax::userland::tcp

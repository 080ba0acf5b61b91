#include "userland/tcp/siphash.h"

#include <sys/random.h>

#include <bit>
#include <cstring>

namespace tcpmax::userland::tcp {
namespace {

struct State {
  uint64_t v0, v1, v2, v3;

  explicit State(const SipKey& k)
      : v0(k.k0 ^ 0x736f6d6570736575ull),
        v1(k.k1 ^ 0x646f72616e646f6dull),
        v2(k.k0 ^ 0x6c7967656e657261ull),
        v3(k.k1 ^ 0x7465646279746573ull) {}

  void Round() {
    v0 += v1; v1 = std::rotl(v1, 13); v1 ^= v0; v0 = std::rotl(v0, 32);
    v2 += v3; v3 = std::rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = std::rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = std::rotl(v1, 17); v1 ^= v2; v2 = std::rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
  uint64_t Finish() {
    v2 ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint64_t SipHash24(const SipKey& key, std::span<const uint8_t> data) {
  State s(key);
  size_t n = data.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) s.Compress(LoadLe64(data.data() + i));
  uint64_t last = uint64_t(n & 0xff) << 56;
  for (size_t j = 0; i + j < n; ++j) last |= uint64_t(data[i + j]) << (8 * j);
  s.Compress(last);
  return s.Finish();
}

uint64_t SipHash24Words(const SipKey& key, uint64_t m0, uint64_t m1) {
  State s(key);
  s.Compress(m0);
  s.Compress(m1);
  s.Compress(uint64_t(16) << 56);
  return s.Finish();
}

uint64_t SipHash24Words(const SipKey& key, std::span<const uint64_t> words) {
  State s(key);
  for (uint64_t m : words) s.Compress(m);
  s.Compress(uint64_t((words.size() * 8) & 0xff) << 56);
  return s.Finish();
}

SipKey RandomSipKey() {
  uint64_t words[2] = {0, 0};
  size_t got = 0;
  auto* p = reinterpret_cast<uint8_t*>(words);
  while (got < sizeof(words)) {
    ssize_t n = getrandom(p + got, sizeof(words) - got, 0);
    if (n > 0) got += size_t(n);
  }
  return SipKey{words[0], words[1]};
}

}  // namespace tcpmax::userland::tcp

#include "userland/tcp/siphash.h"

#include <gtest/gtest.h>

#include <vector>

namespace tcpmax::userland::tcp {
namespace {

// The reference key 00 01 .. 0f from the SipHash paper.
SipKey PaperKey() { return SipKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull}; }

std::vector<uint8_t> Bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i);
  return v;
}

TEST(SipHashTest, PaperVectors) {
  // Appendix A of the paper: the 15-byte message 00..0e.
  EXPECT_EQ(SipHash24(PaperKey(), Bytes(15)), 0xa129ca6149be45e5ull);
  // vectors.h of the reference implementation, empty message.
  EXPECT_EQ(SipHash24(PaperKey(), Bytes(0)), 0x726fdb47dd0e0e31ull);
}

TEST(SipHashTest, WordsFormEqualsByteForm) {
  std::vector<uint8_t> b = Bytes(16);
  uint64_t m0 = 0x0706050403020100ull, m1 = 0x0f0e0d0c0b0a0908ull;
  EXPECT_EQ(SipHash24Words(PaperKey(), m0, m1), SipHash24(PaperKey(), b));
}

TEST(SipHashTest, KeyMatters) {
  SipKey other{1, 2};
  EXPECT_NE(SipHash24Words(PaperKey(), 1, 2), SipHash24Words(other, 1, 2));
  EXPECT_NE(RandomSipKey().k0, RandomSipKey().k0);
}

}  // namespace
}  // namespace tcpmax::userland::tcp

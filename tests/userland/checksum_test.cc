#include "userland/wire/checksum.h"

#include <gtest/gtest.h>

#include <vector>

namespace tcpmax::userland::wire {
namespace {

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  std::vector<uint8_t> d = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumAdd(0, d), 0xddf2u);
  EXPECT_EQ(Checksum(d), 0x220d);
}

TEST(ChecksumTest, KnownIpv4Header) {
  // A well-known example header (192.168.0.1 -> 192.168.0.199, UDP): b861.
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(Checksum(h), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(Checksum(h), 0);  // a correct header sums to zero
}

TEST(ChecksumTest, OddLengthPadsWithZero) {
  std::vector<uint8_t> odd = {0x12, 0x34, 0x56};
  std::vector<uint8_t> even = {0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(Checksum(odd), Checksum(even));
}

TEST(ChecksumTest, IncrementalUpdateMatchesRecompute) {
  std::vector<uint8_t> d = {0x45, 0x00, 0x00, 0x3c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
                            0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01};
  uint16_t before = Checksum(d);
  // Change the TTL/protocol word and a 32-bit address.
  uint16_t old16 = uint16_t((d[8] << 8) | d[9]);
  d[8] = 0x3f;
  uint16_t new16 = uint16_t((d[8] << 8) | d[9]);
  uint16_t upd = ChecksumUpdate16(before, old16, new16);
  EXPECT_EQ(upd, Checksum(d));
  uint32_t old32 = 0xc6120001, new32 = 0xc613ffff;
  d[16] = 0xc6, d[17] = 0x13, d[18] = 0xff, d[19] = 0xff;
  EXPECT_EQ(ChecksumUpdate32(upd, old32, new32), Checksum(d));
}

TEST(ChecksumTest, PseudoHeader) {
  // 10.0.0.1 -> 10.0.0.2, TCP, length 20: 0a00+0001+0a00+0002+0006+0014.
  EXPECT_EQ(PseudoHeaderSum(0x0a000001, 0x0a000002, 6, 20), 0x0a00u + 1 + 0x0a00 + 2 + 6 + 20);
}

}  // namespace
}  // namespace tcpmax::userland::wire

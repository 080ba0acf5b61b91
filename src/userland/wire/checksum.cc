#include "userland/wire/checksum.h"

namespace tcpmax::userland::wire {

uint32_t ChecksumAdd(uint32_t sum, std::span<const uint8_t> data) {
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += (uint32_t(data[i]) << 8) | data[i + 1];
  if (i < data.size()) acc += uint32_t(data[i]) << 8;
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  // Fold once more so callers can keep adding without overflowing.
  acc = (acc & 0xffff) + (acc >> 16);
  return uint32_t(acc);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

uint32_t PseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t protocol, uint16_t length) {
  uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
  return sum + protocol + length;
}

uint32_t PseudoHeaderSum6(const uint8_t* src, const uint8_t* dst, uint8_t next_header, uint32_t length) {
  uint32_t sum = ChecksumAdd(0, {src, 16});
  sum = ChecksumAdd(sum, {dst, 16});
  return sum + (length >> 16) + (length & 0xffff) + next_header;
}

uint16_t ChecksumUpdate16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = uint16_t(~checksum) + uint32_t(uint16_t(~old_word)) + new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

uint16_t ChecksumUpdate32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  checksum = ChecksumUpdate16(checksum, uint16_t(old_value >> 16), uint16_t(new_value >> 16));
  return ChecksumUpdate16(checksum, uint16_t(old_value), uint16_t(new_value));
}

}  // namespace tcpmax::userland::wire

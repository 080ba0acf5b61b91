// libFuzzer target over what the AF_PACKET link does to packets the kernel
// hands over unfinished (src/userland/wire/resegment.h): cutting a merged
// packet into pieces and completing a partial checksum.
//
// Input: bytes 0-1 (big-endian) are the largest piece (the MTU); the rest is
// the packet. Invariants: no crash or UB; no piece is longer than the MTU or
// its buffer, a buffer one byte short is refused without being overrun, and
// every piece of the count is built; whenever the whole packet parses once its checksums are
// complete, every piece parses too (checksums verified), their sequence
// numbers follow each other and their payloads put together are the packet's
// payload; FIN and PSH appear on the last piece only.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "userland/wire/resegment.h"
#include "userland/wire/segment.h"

using namespace tcpmax::userland::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t mtu = (size_t(data[0]) << 8) | data[1];
  std::vector<uint8_t> packet(data + 2, data + size);
  std::vector<uint8_t> whole = packet;
  bool completed = CompleteTcpChecksum(whole);
  size_t n = SegmentsNeeded(packet, mtu);
  if (n > 0 && !LayoutOfTcp(packet)) abort();
  Segment all;
  bool whole_ok = completed && ParseSegment(whole, &all).ok;
  std::vector<uint8_t> joined;
  uint32_t next_seq = all.seq;
  // A piece is never longer than the packet it is cut from, so a buffer of
  // the packet's size holds any of them: every piece must be built.
  std::vector<uint8_t> buf(packet.size());
  for (size_t i = 0; i < n && i < 4096; ++i) {
    size_t len = BuildSegmentPiece(packet, mtu, i, buf);
    if (len == 0 || len > buf.size() || (n > 1 && len > mtu)) abort();
    // One byte short of the piece: refused, and nothing written past the
    // buffer (it is a heap block of exactly that size, so ASan would see).
    std::vector<uint8_t> tight(len - 1);
    if (BuildSegmentPiece(packet, mtu, i, tight) != 0) abort();
    if (!whole_ok) continue;
    Segment piece;
    if (!ParseSegment({buf.data(), len}, &piece).ok) abort();
    if (piece.seq != next_seq) abort();
    if (i + 1 < n && (piece.Has(kFin) || piece.Has(kPsh))) abort();
    next_seq += uint32_t(piece.payload.size());
    joined.insert(joined.end(), piece.payload.begin(), piece.payload.end());
  }
  if (BuildSegmentPiece(packet, mtu, n, buf) != 0) abort();  // past the last piece
  if (whole_ok && n > 0 && n <= 4096 &&
      (joined.size() != all.payload.size() || !std::equal(joined.begin(), joined.end(), all.payload.begin()))) {
    abort();
  }
  return 0;
}

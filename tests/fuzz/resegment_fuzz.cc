// libFuzzer target over what the AF_PACKET link does to packets the kernel
// hands over unfinished (src/userland/wire/resegment.h): cutting a merged
// packet into pieces and completing a partial checksum.
//
// Input: bytes 0-1 (big-endian) are the largest piece (the MTU); the rest is
// the packet. Invariants: no crash or UB; no piece is longer than the MTU or
// its buffer; whenever the whole packet parses once its checksums are
// complete, every piece parses too (checksums verified), their sequence
// numbers follow each other and their payloads put together are the packet's
// payload; FIN and PSH appear on the last piece only.
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
  for (size_t i = 0; i < n && i < 4096; ++i) {
    uint8_t buf[2048];
    size_t len = BuildSegmentPiece(packet, mtu, i, buf);
    if (len > sizeof(buf) || (n > 1 && len > mtu)) abort();
    if (len == 0 || !whole_ok) continue;
    Segment piece;
    if (!ParseSegment({buf, len}, &piece).ok) abort();
    if (piece.seq != next_seq) abort();
    if (i + 1 < n && (piece.Has(kFin) || piece.Has(kPsh))) abort();
    next_seq += uint32_t(piece.payload.size());
    joined.insert(joined.end(), piece.payload.begin(), piece.payload.end());
  }
  if (whole_ok && n > 0) {
    // Pieces that did not fit the 2048-byte buffer were skipped above; only
    // a complete set must add up.
    bool all_built = true;
    for (size_t i = 0; i < n && all_built; ++i) {
      uint8_t buf[2048];
      all_built = BuildSegmentPiece(packet, mtu, i, buf) > 0;
    }
    if (all_built && (joined.size() != all.payload.size() ||
                      !std::equal(joined.begin(), joined.end(), all.payload.begin()))) {
      abort();
    }
  }
  return 0;
}

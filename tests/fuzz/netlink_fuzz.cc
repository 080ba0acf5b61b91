// libFuzzer target over the sock_diag reply parser (diag::ParseDatagram), the
// code that reads what the kernel (or a recorded dump) sends back for
// `tcpmax count` and the probe's verification.
//
// Input: byte 0 picks the family (AF_INET, AF_INET6, AF_UNSPEC) and the
// aggregation; the rest is a list of datagrams, each a 2-byte big-endian
// length then the bytes, fed in order until one ends the dump (NLMSG_DONE)
// or fails. Invariants: no crash or UB; the tally's total equals the sum of
// its states and of its families; no more sockets are counted than socket
// messages were parsed; an error is an Error, never an exception.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <span>
#include <vector>

#include "diag/netlink_dump.h"
#include "diag/query.h"
#include "diag/tally.h"

namespace {

using namespace tcpmax::diag;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr int kFamilies[] = {AF_INET, AF_INET6, AF_UNSPEC};
  int family = kFamilies[data[0] % 3];
  Query q;
  q.by = (data[0] & 0x4) ? AggregateBy::kLocalPort : AggregateBy::kNone;
  Tally tally(q);
  DumpStats stats;
  size_t at = 1;
  while (at + 2 <= size) {
    size_t len = size_t(data[at]) << 8 | data[at + 1];
    at += 2;
    len = std::min(len, size - at);
    // A datagram arrives in its own buffer, aligned as recv() and the replay
    // reader give it (ParseDatagram's REQUIRES), not at an odd offset.
    std::vector<uint8_t> datagram(data + at, data + at + len);
    auto done = ParseDatagram(datagram, family, tally, stats);
    at += len;
    if (!done || *done) break;
  }
  Counts c = tally.Finish();
  uint64_t by_state = std::accumulate(c.states.begin(), c.states.end(), uint64_t{0});
  Check(c.total == by_state);
  Check(c.total == c.ipv4 + c.ipv6);
  Check(c.total <= stats.messages);
  return 0;
}

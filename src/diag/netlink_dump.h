// One inet_diag v2 dump over a DumpSource: builds the request (state mask,
// optional bytecode, no extensions), reads the answer datagram by datagram
// and feeds each socket to a Tally without copying it.
//
// Error handling: NLMSG_ERROR ends the dump with that errno; a datagram
// larger than the buffer (MSG_TRUNC) is EMSGSIZE; ENOBUFS from recv is
// returned as is (the caller retries); NLM_F_DUMP_INTR on any message marks
// the result `interrupted` (the caller retries or reports it).
// Not thread-safe: one dump per source at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "diag/dump_source.h"
#include "diag/tally.h"

namespace tcpmax::diag {

struct DumpStats {
  uint64_t messages = 0;     // socket messages received (before the user-space filter)
  uint64_t datagrams = 0;
  bool interrupted = false;  // NLM_F_DUMP_INTR seen
};

// The netlink message: nlmsghdr + inet_diag_req_v2 (+ INET_DIAG_REQ_BYTECODE).
// For `family` AF_UNSPEC: the compat TCPDIAG_GETSOCK request (inet_diag_req),
// which the kernel answers with both families from a single table walk
// (v2 needs one walk per family, each visiting every socket).
// `sport`/`dport` (host order, 0: any) go in the request's socket id, which the
// kernel compares before it runs any bytecode: the cheapest filter there is.
std::vector<uint8_t> BuildRequest(int family, uint32_t states, std::span<const uint8_t> bytecode, uint32_t seq,
                                  uint16_t sport = 0, uint16_t dport = 0);

// Parses one datagram. Returns true once NLMSG_DONE is seen; malformed
// input is an Error. REQUIRES: `data` starts 4-byte aligned (NLMSG_ALIGN), as
// a recv() buffer or a replayed frame's vector does.
Result<bool> ParseDatagram(std::span<const uint8_t> data, int family, SockSink& sink, DumpStats& stats);

// Runs a whole dump of `family` (AF_INET, AF_INET6, or AF_UNSPEC for both).
Result<DumpStats> RunDump(DumpSource& source, int family, uint32_t states, std::span<const uint8_t> bytecode,
                          SockSink& sink, uint16_t sport = 0, uint16_t dport = 0);

}  // namespace tcpmax::diag

// Compiles a Query's port and address filters into inet_diag bytecode
// (INET_DIAG_REQ_BYTECODE), so the kernel drops non-matching sockets before
// it formats them.
//
// How the kernel runs bytecode (net/ipv4/inet_diag.c, inet_diag_bc_run):
// each op tests the socket and moves forward by `yes` or `no` bytes; the
// socket matches when execution lands exactly on the end, and is rejected
// when it lands 4 bytes past it. The kernel's audit walks only the `yes`
// chain, so every `yes` here is "the next op", and every `no` lands on an op
// of that chain, on the end, or on end+4.
//
// Layout: the filter is an AND of groups (local ports, remote ports, local
// addresses, remote addresses), each group an OR of terms:
//   term i:   cond ... cond        each cond's no -> term i+1 (last: reject)
//             JMP no -> group end  (not after the last term)
// A port range is the term S_GE lo, S_LE hi; a CIDR is the term S_COND.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "diag/query.h"

namespace tcpmax::diag {

// Above this many bytes Compile gives up (jump offsets are 16 bits) and
// returns nothing: the user-space filter still applies, only slower.
inline constexpr size_t kMaxBytecode = 60000;

// Empty when the query needs no filter beyond the state mask.
std::vector<uint8_t> CompileBytecode(const Query& q);

// A program that rejects every socket: the "bare dump" of the benchmark,
// which walks the kernel's tables and sends nothing.
std::vector<uint8_t> RejectAllBytecode();

}  // namespace tcpmax::diag

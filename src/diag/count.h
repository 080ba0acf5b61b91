// diag::Count: the number of TCP sockets matching a Query, by state, with an
// optional aggregation. This is the library entry point of `tcpmax count`,
// and what `probe` samples every second.
//
//   diag::Query q;
//   q.states = diag::StateBit(diag::kEstablished);
//   q.lports = {{7000, 7009}};
//   auto counts = diag::Count(q);   // counts->total, counts->states[kEstablished]
//
// Netlink (inet_diag v2, filters compiled to kernel bytecode) is the source;
// with SourceKind::kAuto it falls back to /proc/net/tcp{,6} when netlink is
// refused (no permission, no inet_diag), and says why in Counts. A dump the
// kernel flags inconsistent (NLM_F_DUMP_INTR) or that overran (ENOBUFS) is
// run again, at most kMaxAttempts times; Counts::interrupted reports a last
// inconsistent one. Sockets that open or close during a dump may or may not
// be counted, as with any table walk.
// Cost: one kernel table walk per family; no allocation per socket.
// Thread-safety: safe to call from several threads at once (each call owns
// its sockets); with Query::netns set only the calling thread changes
// namespace, and only for the duration of the call.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "diag/dump_source.h"
#include "diag/query.h"

namespace tcpmax::diag {

inline constexpr int kMaxAttempts = 3;

Result<Counts> Count(const Query& q);

// Opens a fresh netlink source for one attempt.
using SourceOpener = std::function<Result<std::unique_ptr<DumpSource>>()>;
// Count with another way to open the netlink source (tests inject refusals,
// interrupted and overrun dumps); the same netns, retry and fallback rules.
Result<Counts> CountWith(const Query& q, const SourceOpener& open);

// One netlink attempt through `source` (live, replayed or recording); no
// namespace switch, no fallback, no retry.
Result<Counts> CountNetlink(const Query& q, DumpSource& source);

// Counts from `<net_dir>/tcp` and `<net_dir>/tcp6`.
Result<Counts> CountProc(const Query& q, const std::string& net_dir = "/proc/thread-self/net");

// True for errors that mean "this process may not use sock_diag here".
bool NetlinkRefused(const Error& e);

}  // namespace tcpmax::diag

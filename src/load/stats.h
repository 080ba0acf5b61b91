// Load statistics: what a `tcpmax load` worker counts, how a process sums
// its workers, and how shard processes ship their figures to the parent.
//
// Each worker owns a LoadStats and publishes a copy every ~50 ms under its
// own mutex (no shared atomics per event); the reporter merges the copies.
// report/load.h renders them; ToShardReport/FromShardReport convert to and
// from the shard contract that forked load processes speak.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/histogram.h"
#include "limits/errno_class.h"
#include "load/session_stats.h"
#include "sys/shard_messages.h"

namespace tcpmax::load {

struct LoadStats {
  uint64_t target = 0;     // connections this worker/process/run must attempt
  uint64_t attempted = 0;  // socket() calls made
  uint64_t opened = 0;     // connects that succeeded
  uint64_t failed = 0;     // attempts that failed (socket, bind, connect, timeout)
  uint64_t closed = 0;     // established connections later closed by the peer or an error
  uint64_t inflight = 0;   // connects not yet answered
  uint64_t pings_sent = 0;
  uint64_t pongs = 0;      // echoes that came back intact
  uint64_t pongs_bad = 0;  // echoes with wrong bytes or split across reads
  uint64_t rss_bytes = 0;  // resident memory of the process (not summed per worker)
  uint64_t rss_start_bytes = 0;  // resident memory before the first connection
  // Anonymous resident memory (heap, stacks; not the shared code pages each
  // process faults in): its growth per held connection is the user-space cost.
  uint64_t anon_bytes = 0;
  uint64_t anon_start_bytes = 0;
  double t = 0;            // seconds since start
  double ramp_seconds = 0; // time until every attempt was answered (0: not yet)
  limits::ErrorCounts errors;
  Histogram connect_ns;    // connect() to established
  Histogram rtt_ns;        // ping round trip
  SessionStats session;    // the session layer (--proto, --tls, --message); zero without it
  Histogram closed_after_ns;  // established to closed by the peer: how soon a server drops connections

  uint64_t held() const { return opened - closed; }
  bool ramp_done() const { return target > 0 && attempted == target && inflight == 0 && session.pending == 0; }
  // Adds counters and histograms; t and ramp_seconds take the maximum.
  void Merge(const LoadStats& other);
};

// A shard's figures in the shard contract (sys/shard_messages.h); kFinal
// carries the histograms too. FromShardReport is the inverse.
sys::ShardReport ToShardReport(const LoadStats& s, sys::ShardKind kind);
LoadStats FromShardReport(const sys::ShardReport& r);

}  // namespace tcpmax::load

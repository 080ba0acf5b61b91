// The result file of one rank of a distributed run: the contract between
// `tcpmax load --results DIR` (which writes DIR/<run id>-rank<N>.json) and
// `tcpmax merge` (which reads them). Schema "tcpmax.rank/1", defined here
// only; docs/distributed.md describes it.
//
// Lossless: counts are integers, errors are counted per key, and each latency
// histogram is stored as its exact non-empty buckets (index, lowest value,
// highest value, count) with count, sum, min and max, so merged histograms
// equal the histogram of every sample, bucket for bucket.
// Thread-safety: plain values; pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/histogram.h"
#include "load/stats.h"

namespace tcpmax::dist {

inline constexpr const char* kRankSchema = "tcpmax.rank/1";

// The session layer's figures of a rank (load/session_stats.h), when it ran:
// counts summed, protocol errors per key ("ws_close_1006"), histograms merged.
struct RankSession {
  uint64_t ready = 0, tls_done = 0, tls_resumed = 0, tls_parked = 0;
  uint64_t messages_sent = 0, messages_received = 0, echo_ok = 0;
  uint64_t reopened = 0, closes_sent = 0, closes_answered = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t http_status[5] = {};
  std::map<std::string, uint64_t> errors;
  Histogram tls_ns, ready_ns, message_rtt_ns;

  void Add(const RankSession& other);
  friend bool operator==(const RankSession&, const RankSession&) = default;
};

// What merges exactly: sums of counts, errors per key, histograms.
struct RankTotals {
  uint64_t target = 0, attempted = 0, opened = 0, failed = 0, closed = 0, held = 0;
  uint64_t pings_sent = 0, pongs = 0, pongs_bad = 0;
  std::map<std::string, uint64_t> errors;  // "EADDRNOTAVAIL" -> count
  Histogram connect_ns, rtt_ns;
  Histogram closed_after_ns;  // established to closed by the peer
  std::optional<RankSession> session;  // present when the rank ran sessions (optional key "session")

  void Add(const RankTotals& other);
  friend bool operator==(const RankTotals&, const RankTotals&) = default;
};

// `held`: connections held when the stop came (before teardown).
RankTotals TotalsOf(const load::LoadStats& s, uint64_t held);

struct RankResult {
  std::string run_id;
  int rank = 0, size = 1;
  std::string launcher, host, netns;
  // The rank's slice (dist/partition.h).
  uint64_t connections = 0, first_connection = 0, total_connections = 0;
  std::vector<std::string> targets;
  uint64_t source_first = 0, source_count = 0, source_total = 0;
  // Timing: when it began opening (Unix seconds, wall clock), how late after
  // --start-at that was, the ramp and the whole run.
  double start_unix = 0;
  std::optional<std::string> start_at;     // the agreed start (RFC 3339)
  int64_t start_late_ns = 0;
  std::optional<int64_t> clock_offset_ns;  // vs rank 0, when MPI measured it
  double ramp_seconds = 0, seconds = 0;
  bool interrupted = false;
  RankTotals totals;
};

nlohmann::json HistogramToJson(const Histogram& h);
Result<Histogram> HistogramFromJson(const nlohmann::json& j);

nlohmann::json RankResultToJson(const RankResult& r);
// Errors name the key that is missing or wrong.
Result<RankResult> RankResultFromJson(const nlohmann::json& j);

// "<run id>-rank<N>.json". Run ids are [A-Za-z0-9._-]{1,100}.
std::string RankFileName(const std::string& run_id, int rank);
Result<void> CheckRunId(const std::string& run_id);

}  // namespace tcpmax::dist

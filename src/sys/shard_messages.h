// The contract between a supervisor and its shard processes: every message a
// shard sends up (ShardReport) and every command it receives (ShardCommand),
// with their wire codec. This file is the only place that knows the keys;
// serve, load and probe convert their own figures to and from ShardReport.
//
// Wire: a report is one compact JSON object per line, versioned by "v"
// (kShardProtocol); a command is one byte. Histograms travel as the hex of
// their raw bytes: shards are forks of the same binary, so layouts match.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/histogram.h"

namespace tcpmax::sys {

inline constexpr int kShardProtocol = 3;

enum class ShardKind : uint8_t {
  kReady,     // the shard is up (serve: listening); figures are its baseline
  kProgress,  // periodic figures
  kFinal,     // last figures, after the shard closed its connections
  kFailed,    // the job could not run; `error` says why
};
std::string_view ShardKindName(ShardKind k);

// The session layer's figures of a load shard (load/session_stats.h);
// protocol errors travel as (ProtoError value, count) like errnos.
struct ShardSession {
  uint64_t ready = 0, pending = 0, tls_done = 0, tls_resumed = 0, tls_parked = 0;
  uint64_t messages_sent = 0, messages_received = 0, echo_ok = 0, reopened = 0;
  uint64_t closes_sent = 0, closes_answered = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  uint64_t http_status[5] = {};
  std::vector<std::pair<int, uint64_t>> errors;
  std::optional<Histogram> tls_ns, ready_ns, message_rtt_ns;  // kFinal only
};

// What one shard says about itself. Serve shards fill opened (= accepted),
// closed and held; load shards fill every connection counter.
struct ShardReport {
  ShardKind kind = ShardKind::kProgress;
  double t = 0;                  // seconds since the shard's job started
  uint64_t target = 0;           // connections this shard must open (load)
  uint64_t attempted = 0;        // connect attempts made (load)
  uint64_t opened = 0;           // connections established (load) or accepted (serve)
  uint64_t failed = 0;           // attempts that failed (load)
  uint64_t closed = 0;           // established connections that ended since
  uint64_t inflight = 0;         // connects not yet answered (load)
  uint64_t held = 0;             // connections held now
  uint64_t pings_sent = 0, pongs = 0, pongs_bad = 0;
  uint64_t rss_bytes = 0, rss_start_bytes = 0;    // resident set now / at the job's start
  uint64_t anon_bytes = 0, anon_start_bytes = 0;  // anonymous part of it
  double ramp_seconds = 0;       // load: time until every attempt was answered
  bool opening_stopped = false;  // the shard obeyed kStopOpening
  uint64_t answers = 0;          // kReport requests this report answers (all so far)
  std::vector<std::pair<int, uint64_t>> errors;  // errno -> count
  std::optional<Histogram> connect_ns;            // kFinal only
  std::optional<Histogram> rtt_ns;
  std::optional<Histogram> closed_after_ns;       // load: established to closed by the peer
  std::string error;                              // kFailed only
  std::optional<ShardSession> session;            // load shards with the session layer on
};

// Commands from the supervisor to a shard.
enum class ShardCommand : uint8_t {
  kStopOpening = 'o',  // open no further connection; keep what is held
  kStop = 's',         // close everything, send kFinal, exit
  kReport = 'r',       // send a kProgress report now, answering this request
  kSlower = '-',       // halve the opening rate (load shards with a rate: the climb's pacing)
  kFaster = '+',       // raise the opening rate by a factor of sqrt(2)
};

// One line, without the trailing newline.
std::string EncodeReport(const ShardReport& r);
// The inverse; an Error names what was wrong with the line.
Result<ShardReport> DecodeReport(std::string_view line);
std::optional<ShardCommand> DecodeCommand(char byte);

}  // namespace tcpmax::sys

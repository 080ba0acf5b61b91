// Renderers of `tcpmax count`: what diag::Count counted (diag/query.h) as
// text, as the --json document, and as one --watch line. They build strings
// and JSON values; printing is the caller's job (src/cli).
//
// JSON schema "tcpmax.count/1", documented in docs/count-json.md: counts are
// numbers; the query is carried both structured and as a readable "filter".
// Within version 1 fields are only ever added, never renamed or removed.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diag/query.h"

namespace tcpmax::report {

inline constexpr const char* kCountSchema = "tcpmax.count/1";

// "local ports 7000-7009, remote addresses 127.0.0.0/8, states established, IPv4+IPv6"
std::string CountFilter(const diag::Query& q);

// "TCP sockets: 21  (<filter>; IPv4 21, IPv6 0; source netlink)", one line per
// state seen, then the top groups with --by.
std::string CountText(const diag::Query& q, const diag::Counts& c);
nlohmann::json CountJson(const diag::Query& q, const diag::Counts& c);

// One sample of `count --watch`: the counts, when they were taken, and the
// change of the total since the previous sample (nullptr: the first sample).
struct CountSample {
  const diag::Counts* now = nullptr;
  const diag::Counts* previous = nullptr;
  int64_t unix_seconds = 0;
};
// "12:00:01 total 1,204 (+4)  established 1,200 (+4)  listen 4 (0)"
std::string CountWatchLine(const CountSample& s);
// CountJson plus "time_unix_seconds" and "total_delta".
nlohmann::json CountWatchJson(const diag::Query& q, const CountSample& s);

// Warnings a user must see beside the numbers (the /proc fallback and why, an
// interrupted dump): one line each, without the "tcpmax count: " prefix.
std::vector<std::string> CountWarnings(const diag::Counts& c);

}  // namespace tcpmax::report

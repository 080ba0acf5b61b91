// Text, JSON and --watch lines of `tcpmax count` (schema tcpmax.count/1,
// docs/count-json.md).
#include "report/count.h"

#include <time.h>

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::report {
namespace {

using nlohmann::json;

std::string Ranges(const std::vector<PortRange>& ranges) {
  std::string out;
  for (const PortRange& r : ranges) {
    if (!out.empty()) out += ',';
    out += r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, r.hi);
  }
  return out;
}

std::string Cidrs(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const Cidr& c : cidrs) {
    if (!out.empty()) out += ',';
    out += c.ToString();
  }
  return out;
}

json RangesJson(const std::vector<PortRange>& ranges) {
  json out = json::array();
  for (const PortRange& r : ranges) out.push_back({r.lo, r.hi});
  return out;
}

json CidrsJson(const std::vector<Cidr>& cidrs) {
  json out = json::array();
  for (const Cidr& c : cidrs) out.push_back(c.ToString());
  return out;
}

json QueryJson(const diag::Query& q) {
  json states = json::array();
  for (int s = 1; s <= diag::kMaxTcpState; ++s) {
    if (q.states & diag::StateBit(s)) states.push_back(std::string(diag::TcpStateName(s)));
  }
  return {{"lports", q.lports.empty() ? json::array({{1, 65535}}) : RangesJson(q.lports)},
          {"rports", q.rports.empty() ? json::array({{1, 65535}}) : RangesJson(q.rports)},
          {"src", CidrsJson(q.src)},
          {"dst", CidrsJson(q.dst)},
          {"states", states},
          {"ipv4", q.ipv4},
          {"ipv6", q.ipv6}};
}

json GroupsJson(const diag::Counts& c) {
  bool port = c.by == diag::AggregateBy::kLocalPort || c.by == diag::AggregateBy::kRemotePort;
  json groups = json::array();
  for (const diag::Group& g : c.groups) {
    json row = {{"key", g.key.ToString(c.by)}, {"count", g.count}};
    if (port) row["port"] = g.key.port;
    groups.push_back(row);
  }
  return groups;
}

std::string Signed(int64_t d) { return d > 0 ? fmt::format("+{}", d) : fmt::format("{}", d); }

std::string TimeOfDay(int64_t unix_seconds) {
  time_t t = unix_seconds;
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%H:%M:%S", &utc);
  return buf;
}

}  // namespace

std::string CountFilter(const diag::Query& q) {
  std::string s = fmt::format("local ports {}", q.lports.empty() ? "1-65535" : Ranges(q.lports));
  if (!q.rports.empty()) s += fmt::format(", remote ports {}", Ranges(q.rports));
  if (!q.src.empty()) s += fmt::format(", local addresses {}", Cidrs(q.src));
  if (!q.dst.empty()) s += fmt::format(", remote addresses {}", Cidrs(q.dst));
  std::string family = q.ipv4 && q.ipv6 ? "IPv4+IPv6" : (q.ipv4 ? "IPv4" : "IPv6");
  return s + fmt::format(", states {}, {}", diag::StatesToString(q.states), family);
}

std::string CountText(const diag::Query& q, const diag::Counts& c) {
  std::string out = fmt::format("TCP sockets: {}  ({}; IPv4 {}, IPv6 {}; source {})\n", FormatCount(c.total),
                                CountFilter(q), FormatCount(c.ipv4), FormatCount(c.ipv6), diag::SourceName(c.source));
  for (int s = 1; s <= diag::kMaxTcpState; ++s) {
    if (c.states[s] > 0) out += fmt::format("  {:<13} {:>12}\n", diag::TcpStateName(s), FormatCount(c.states[s]));
  }
  if (c.by != diag::AggregateBy::kNone) {
    out += fmt::format("top {} of {} by {}:\n", c.groups.size(), FormatCount(c.distinct_groups),
                       diag::AggregateName(c.by));
    for (const diag::Group& g : c.groups) {
      out += fmt::format("  {:<40} {:>12}\n", g.key.ToString(c.by), FormatCount(g.count));
    }
  }
  return out;
}

json CountJson(const diag::Query& q, const diag::Counts& c) {
  json states = json::object();
  for (int s = 1; s <= diag::kMaxTcpState; ++s) {
    if (c.states[s] > 0) states[std::string(diag::TcpStateName(s))] = c.states[s];
  }
  json j = {{"schema", kCountSchema},
            {"total", c.total},
            {"ipv4", c.ipv4},
            {"ipv6", c.ipv6},
            {"states", states},
            {"source", diag::SourceName(c.source)},
            {"attempts", c.attempts},
            {"interrupted", c.interrupted},
            {"query", QueryJson(q)},
            {"filter", CountFilter(q)}};
  if (!c.fallback_reason.empty()) j["fallback_reason"] = c.fallback_reason;
  if (c.source == diag::SourceKind::kNetlink) j["single_walk"] = c.single_walk;
  if (c.by != diag::AggregateBy::kNone) {
    j["by"] = diag::AggregateName(c.by);
    j["distinct"] = c.distinct_groups;
    j["groups"] = GroupsJson(c);
  }
  return j;
}

std::string CountWatchLine(const CountSample& s) {
  const diag::Counts& c = *s.now;
  diag::Counts zero;
  const diag::Counts& prev = s.previous ? *s.previous : zero;
  int64_t total_delta = s.previous ? int64_t(c.total) - int64_t(prev.total) : 0;
  std::string line = fmt::format("{} total {} ({})", TimeOfDay(s.unix_seconds), FormatCount(c.total),
                                 Signed(total_delta));
  for (int st = 1; st <= diag::kMaxTcpState; ++st) {
    if (c.states[st] == 0 && prev.states[st] == 0) continue;
    int64_t d = s.previous ? int64_t(c.states[st]) - int64_t(prev.states[st]) : 0;
    line += fmt::format("  {} {} ({})", diag::TcpStateName(st), FormatCount(c.states[st]), Signed(d));
  }
  return line;
}

json CountWatchJson(const diag::Query& q, const CountSample& s) {
  json j = CountJson(q, *s.now);
  j["time_unix_seconds"] = s.unix_seconds;
  j["total_delta"] = s.previous ? int64_t(s.now->total) - int64_t(s.previous->total) : 0;
  return j;
}

std::vector<std::string> CountWarnings(const diag::Counts& c) {
  std::vector<std::string> lines;
  if (!c.fallback_reason.empty()) {
    lines.push_back(fmt::format("netlink refused ({}); counted from /proc", c.fallback_reason));
  }
  if (c.interrupted) {
    lines.push_back(fmt::format("the kernel flagged the dump inconsistent {} times; counts are approximate",
                                c.attempts));
  }
  return lines;
}

}  // namespace tcpmax::report

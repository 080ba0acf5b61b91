// tcpmax count: count TCP sockets by state, port range and address, from
// the kernel's sock_diag tables (or /proc), once or every interval.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "core/units.h"
#include "diag/count.h"
#include "sys/netns.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "count";

struct Options {
  std::string lport, rport, state = "all", src, dst, by, netns, source = "auto", record, replay, watch;
  bool only4 = false, only6 = false, json = false, classic = false;
  size_t top = 10;
  uint64_t iterations = 0;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--lport", o.lport, "local port ranges, e.g. 7000-7009,8080 (default: 1-65535)");
  app.add_option("--rport", o.rport, "remote port ranges");
  app.add_option("--state", o.state, "states: all, connected, established,time-wait,listen,...");
  app.add_option("--src", o.src, "local address CIDRs, e.g. 127.0.0.0/8,::1");
  app.add_option("--dst", o.dst, "remote address CIDRs");
  app.add_flag("-4", o.only4, "IPv4 sockets only");
  app.add_flag("-6", o.only6, "IPv6 sockets only");
  app.add_option("--by", o.by, "aggregate by lport, rport, laddr, raddr or state");
  app.add_option("--top", o.top, "groups shown with --by (0: all)");
  app.add_option("--watch", o.watch, "count again every interval (e.g. 1s) and print deltas");
  app.add_option("--iterations", o.iterations, "with --watch: stop after N counts (0: until interrupted)");
  app.add_flag("--json", o.json, "JSON on stdout (one object per line with --watch)");
  app.add_option("--netns", o.netns, "count inside the named network namespace (/run/netns/NAME)");
  app.add_option("--source", o.source, "auto (netlink, /proc if refused), netlink or proc");
  app.add_flag("--classic", o.classic,
               "count like the classic netstat|awk script: ESTABLISHED + TIME_WAIT on the local port range; "
               "prints one number");
  app.add_option("--record", o.record, "also append the raw netlink answers to FILE (for tests/data/netlink)");
  app.add_option("--replay", o.replay, "count from a recorded netlink FILE instead of the kernel");
}

std::optional<diag::AggregateBy> ParseBy(std::string_view s) {
  using diag::AggregateBy;
  for (AggregateBy b : {AggregateBy::kLocalPort, AggregateBy::kRemotePort, AggregateBy::kLocalAddr,
                        AggregateBy::kRemoteAddr, AggregateBy::kState}) {
    if (diag::AggregateName(b) == s) return b;
  }
  return std::nullopt;
}

// Validates flags into a Query; the string is a usage error.
tl::expected<diag::Query, std::string> BuildQuery(const Options& o) {
  diag::Query q;
  if (!o.lport.empty()) {
    auto r = ParsePortRanges(o.lport);
    if (!r) return tl::unexpected("--lport: " + r.error().context);
    q.lports = *r;
  }
  if (!o.rport.empty()) {
    auto r = ParsePortRanges(o.rport);
    if (!r) return tl::unexpected("--rport: " + r.error().context);
    q.rports = *r;
  }
  auto states = diag::ParseStates(o.state);
  if (!states) return tl::unexpected("--state: " + states.error().context);
  q.states = o.classic ? diag::kClassicStates : *states;
  if (o.classic && o.state != "all") return tl::unexpected(std::string("--classic counts established,time-wait: drop --state"));
  if (!o.src.empty()) {
    auto c = ParseCidrs(o.src);
    if (!c) return tl::unexpected("--src: " + c.error().context);
    q.src = *c;
  }
  if (!o.dst.empty()) {
    auto c = ParseCidrs(o.dst);
    if (!c) return tl::unexpected("--dst: " + c.error().context);
    q.dst = *c;
  }
  if (o.only4 && o.only6) return tl::unexpected(std::string("-4 and -6 exclude each other"));
  q.ipv4 = !o.only6;
  q.ipv6 = !o.only4;
  if (!o.by.empty()) {
    auto by = ParseBy(o.by);
    if (!by) return tl::unexpected(fmt::format("--by: unknown key '{}': use lport, rport, laddr, raddr or state", o.by));
    q.by = *by;
  }
  q.top = o.top;
  if (o.source == "auto") q.source = diag::SourceKind::kAuto;
  else if (o.source == "netlink") q.source = diag::SourceKind::kNetlink;
  else if (o.source == "proc") q.source = diag::SourceKind::kProc;
  else return tl::unexpected(fmt::format("--source: unknown source '{}': use auto, netlink or proc", o.source));
  if (!o.replay.empty() && (q.source == diag::SourceKind::kProc || !o.netns.empty() || !o.record.empty()))
    return tl::unexpected(std::string("--replay cannot be combined with --source proc, --netns or --record"));
  q.netns = o.netns;
  q.record_path = o.record;
  return q;
}

std::string Ranges(const std::vector<PortRange>& ranges) {
  std::string out;
  for (const PortRange& r : ranges)
    out += (out.empty() ? "" : ",") + (r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, r.hi));
  return out;
}

std::string Cidrs(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const Cidr& c : cidrs) out += (out.empty() ? "" : ",") + c.ToString();
  return out;
}

std::string Describe(const diag::Query& q) {
  std::string s = fmt::format("local ports {}", q.lports.empty() ? "1-65535" : Ranges(q.lports));
  if (!q.rports.empty()) s += fmt::format(", remote ports {}", Ranges(q.rports));
  if (!q.src.empty()) s += fmt::format(", local addresses {}", Cidrs(q.src));
  if (!q.dst.empty()) s += fmt::format(", remote addresses {}", Cidrs(q.dst));
  std::string fam = q.ipv4 && q.ipv6 ? "IPv4+IPv6" : (q.ipv4 ? "IPv4" : "IPv6");
  return s + fmt::format(", states {}, {}", diag::StatesToString(q.states), fam);
}

nlohmann::json ToJson(const diag::Query& q, const diag::Counts& c) {
  nlohmann::json j;
  j["total"] = c.total;
  j["ipv4"] = c.ipv4;
  j["ipv6"] = c.ipv6;
  nlohmann::json states = nlohmann::json::object();
  for (int s = 1; s <= diag::kMaxTcpState; ++s)
    if (c.states[s] > 0) states[std::string(diag::TcpStateName(s))] = c.states[s];
  j["states"] = states;
  j["source"] = diag::SourceName(c.source);
  if (!c.fallback_reason.empty()) j["fallback_reason"] = c.fallback_reason;
  j["attempts"] = c.attempts;
  if (c.source == diag::SourceKind::kNetlink) j["single_walk"] = c.single_walk;
  j["interrupted"] = c.interrupted;
  j["filter"] = Describe(q);
  if (c.by != diag::AggregateBy::kNone) {
    j["by"] = diag::AggregateName(c.by);
    j["distinct"] = c.distinct_groups;
    nlohmann::json groups = nlohmann::json::array();
    for (const diag::Group& g : c.groups) groups.push_back({{"key", g.key.ToString(c.by)}, {"count", g.count}});
    j["groups"] = groups;
  }
  return j;
}

void PrintText(const diag::Query& q, const diag::Counts& c) {
  fmt::print("TCP sockets: {}  ({}; {}; source {})\n", FormatCount(c.total), Describe(q),
             fmt::format("IPv4 {}, IPv6 {}", FormatCount(c.ipv4), FormatCount(c.ipv6)), diag::SourceName(c.source));
  for (int s = 1; s <= diag::kMaxTcpState; ++s)
    if (c.states[s] > 0) fmt::print("  {:<13} {:>12}\n", diag::TcpStateName(s), FormatCount(c.states[s]));
  if (c.by != diag::AggregateBy::kNone) {
    fmt::print("top {} of {} by {}:\n", c.groups.size(), FormatCount(c.distinct_groups), diag::AggregateName(c.by));
    for (const diag::Group& g : c.groups)
      fmt::print("  {:<40} {:>12}\n", g.key.ToString(c.by), FormatCount(g.count));
  }
}

void Warn(const diag::Counts& c) {
  if (!c.fallback_reason.empty()) fmt::print(stderr, "tcpmax count: netlink refused ({}); counted from /proc\n", c.fallback_reason);
  if (c.interrupted)
    fmt::print(stderr, "tcpmax count: the kernel flagged the dump inconsistent {} times; counts are approximate\n", c.attempts);
}

Result<diag::Counts> CountOnce(const diag::Query& q, const std::string& replay) {
  if (replay.empty()) return diag::Count(q);
  auto src = diag::ReplaySource::Load(replay);
  if (!src) return tl::unexpected(src.error());
  return diag::CountNetlink(q, **src);
}

std::string Now() {
  time_t t = time(nullptr);
  tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%H:%M:%S", &utc);
  return buf;
}

std::string Signed(int64_t d) { return d > 0 ? fmt::format("+{}", d) : fmt::format("{}", d); }

int Watch(const diag::Query& q, const Options& o, std::chrono::nanoseconds every) {
  diag::Counts prev;
  auto next = std::chrono::steady_clock::now();
  for (uint64_t i = 0; o.iterations == 0 || i < o.iterations; ++i) {
    if (i > 0) std::this_thread::sleep_until(next);
    next += every;
    auto c = CountOnce(q, o.replay);
    if (!c) return RuntimeError(kName, c.error());
    Warn(*c);
    int64_t dtotal = i == 0 ? 0 : int64_t(c->total) - int64_t(prev.total);
    if (o.json) {
      nlohmann::json j = ToJson(q, *c);
      j["time"] = Now();
      j["delta"] = dtotal;
      fmt::print("{}\n", j.dump());
    } else {
      std::string line = fmt::format("{} total {} ({})", Now(), FormatCount(c->total), Signed(dtotal));
      for (int s = 1; s <= diag::kMaxTcpState; ++s) {
        if (c->states[s] == 0 && prev.states[s] == 0) continue;
        int64_t d = i == 0 ? 0 : int64_t(c->states[s]) - int64_t(prev.states[s]);
        line += fmt::format("  {} {} ({})", diag::TcpStateName(s), FormatCount(c->states[s]), Signed(d));
      }
      fmt::print("{}\n", line);
    }
    std::fflush(stdout);
    prev = std::move(*c);
  }
  return kExitOk;
}

}  // namespace

int RunCount(int argc, char** argv) {
  CLI::App app{"Count TCP sockets by state, port range and address (sock_diag netlink, /proc fallback).", "count"};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  auto q = BuildQuery(o);
  if (!q) return UsageError(kName, q.error());
  std::chrono::nanoseconds every{0};
  if (!o.watch.empty()) {
    auto d = ParseDuration(o.watch);
    if (!d || d->count() <= 0) return UsageError(kName, fmt::format("--watch: '{}' is not a positive duration (e.g. 1s)", o.watch));
    every = *d;
  }
  if (!q->netns.empty()) {
    if (auto ns = sys::OpenNetns(q->netns); !ns) return UsageError(kName, fmt::format("--netns: {}", ns.error().ToString()));
  }
  if (every.count() > 0) return Watch(*q, o, every);
  auto c = CountOnce(*q, o.replay);
  if (!c) return RuntimeError(kName, c.error());
  Warn(*c);
  if (o.classic && !o.json) fmt::print("{}\n", c->total);
  else if (o.json) fmt::print("{}\n", ToJson(*q, *c).dump(2));
  else PrintText(*q, *c);
  return kExitOk;
}

}  // namespace tcpmax::cli

// tcpmax count: count TCP sockets by state, port range and address, from
// the kernel's sock_diag tables (or /proc), once or every interval.
// Flags -> Validate -> diag::Count -> report/count.h.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>

#include "cli/cli_util.h"
#include "cli/metrics_flag.h"
#include "metrics/families.h"
#include "core/units.h"
#include "diag/count.h"
#include "diag/query.h"
#include "diag/tcp_state.h"
#include "report/count.h"
#include "sys/netns.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "count";

struct Options {
  std::string lport, rport, state = "all", src, dst, by, netns, source = "auto", record, replay, watch;
  bool only4 = false, only6 = false, json = false, classic = false;
  size_t top = 10;
  uint64_t iterations = 0;
  std::string metrics;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--lport", o.lport, "local port ranges, e.g. 7000-7009,8080 (default: 1-65535)");
  app.add_option("--rport", o.rport, "remote port ranges");
  app.add_option("--state", o.state, "states: all, connected, established,time-wait,listen,...")
      ->check(Values(Names(diag::StateWords(), [](auto w) { return w; }), /*list=*/true));
  app.add_option("--src", o.src, "local address CIDRs, e.g. 127.0.0.0/8,::1");
  app.add_option("--dst", o.dst, "remote address CIDRs");
  app.add_flag("-4", o.only4, "IPv4 sockets only");
  app.add_flag("-6", o.only6, "IPv6 sockets only");
  app.add_option("--by", o.by, "aggregate by lport, rport, laddr, raddr or state")
      ->check(Values(Names(diag::kAggregateKeys, diag::AggregateName)));
  app.add_option("--top", o.top, "groups shown with --by (0: all)");
  app.add_option("--watch", o.watch, "count again every interval (e.g. 1s) and print deltas");
  app.add_option("--iterations", o.iterations, "with --watch: stop after N counts (0: until interrupted)");
  app.add_flag("--json", o.json, "JSON on stdout (schema tcpmax.count/1, docs/count-json.md; one object per line with --watch)");
  app.add_option("--netns", o.netns, "count inside the named network namespace (/run/netns/NAME)");
  app.add_option("--source", o.source, "auto (netlink, /proc if refused), netlink or proc")
      ->check(Values(Names(diag::kSourceKinds, diag::SourceName)));
  app.add_flag("--classic", o.classic,
               "count like the classic netstat|awk script: ESTABLISHED + TIME_WAIT on the local port range; "
               "prints one number");
  app.add_option("--record", o.record, "also append the raw netlink answers to FILE (for tests/data/netlink)");
  app.add_option("--replay", o.replay, "count from a recorded netlink FILE instead of the kernel");
}

// The validated request: the module's Query, and how to run it.
struct Request {
  diag::Query query;
  std::chrono::nanoseconds every{0};  // --watch interval; 0: count once
  std::string replay;                 // count from this recorded file instead of the kernel
};

Result<diag::Query> ValidateFilters(const Options& o) {
  diag::Query q;
  for (auto [flag, text, out] : {std::tuple{"--lport", &o.lport, &q.lports}, {"--rport", &o.rport, &q.rports}}) {
    if (text->empty()) continue;
    auto r = ParsePortRanges(*text);
    if (!r) return PlainError(std::string(flag) + ": " + r.error().context);
    *out = *r;
  }
  for (auto [flag, text, out] : {std::tuple{"--src", &o.src, &q.src}, {"--dst", &o.dst, &q.dst}}) {
    if (text->empty()) continue;
    auto c = ParseCidrs(*text);
    if (!c) return PlainError(std::string(flag) + ": " + c.error().context);
    *out = *c;
  }
  auto states = diag::ParseStates(o.state);
  if (!states) return PlainError("--state: " + states.error().context);
  if (o.classic && o.state != "all") return PlainError("--classic counts established,time-wait: drop --state");
  q.states = o.classic ? diag::kClassicStates : *states;
  if (o.only4 && o.only6) return PlainError("-4 and -6 exclude each other");
  q.ipv4 = !o.only6;
  q.ipv6 = !o.only4;
  return q;
}

Result<Request> Validate(const Options& o) {
  auto q = ValidateFilters(o);
  if (!q) return tl::unexpected(q.error());
  if (!o.by.empty()) {
    auto by = diag::ParseAggregateBy(o.by);
    if (!by || *by == diag::AggregateBy::kNone) {
      return PlainError(fmt::format("--by: unknown key '{}': use lport, rport, laddr, raddr or state", o.by));
    }
    q->by = *by;
  }
  auto source = diag::ParseSourceKind(o.source);
  if (!source) return PlainError(fmt::format("--source: unknown source '{}': use auto, netlink or proc", o.source));
  q->source = *source;
  q->top = o.top;
  if (!o.replay.empty() && (q->source == diag::SourceKind::kProc || !o.netns.empty() || !o.record.empty())) {
    return PlainError("--replay cannot be combined with --source proc, --netns or --record");
  }
  q->netns = o.netns;
  q->record_path = o.record;
  if (!o.netns.empty()) {
    if (auto ns = sys::OpenNetns(o.netns); !ns) return PlainError("--netns: " + ns.error().ToString());
  }
  Request r{std::move(*q), {}, o.replay};
  if (!o.watch.empty()) {
    auto d = ParseDuration(o.watch);
    if (!d || d->count() <= 0) return PlainError(fmt::format("--watch: '{}' is not a positive duration (e.g. 1s)", o.watch));
    r.every = *d;
  }
  return r;
}

Result<diag::Counts> CountOnce(const Request& r) {
  if (r.replay.empty()) return diag::Count(r.query);
  auto src = diag::ReplaySource::Load(r.replay);
  if (!src) return tl::unexpected(src.error());
  return diag::CountNetlink(r.query, **src);
}

void Warn(const diag::Counts& c) {
  for (const std::string& line : report::CountWarnings(c)) fmt::print(stderr, "tcpmax {}: {}\n", kName, line);
}

int Watch(const Request& r, const Options& o) {
  auto metrics_server = StartMetrics(kName, o.metrics);
  if (!metrics_server) return RuntimeError(kName, metrics_server.error());
  diag::Counts prev;
  auto next = std::chrono::steady_clock::now();
  for (uint64_t i = 0; o.iterations == 0 || i < o.iterations; ++i) {
    if (i > 0) std::this_thread::sleep_until(next);
    next += r.every;
    auto c = CountOnce(r);
    if (!c) return RuntimeError(kName, c.error());
    Warn(*c);
    if (*metrics_server) (*metrics_server)->Publish(metrics::CountMetrics(*c));
    report::CountSample sample{&*c, i == 0 ? nullptr : &prev, int64_t(::time(nullptr))};
    if (o.json) fmt::print("{}\n", report::CountWatchJson(r.query, sample).dump());
    else fmt::print("{}\n", report::CountWatchLine(sample));
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
  AddMetricsFlag(app, o.metrics);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  auto request = Validate(o);
  if (!request) return UsageError(kName, request.error().ToString());
  if (!o.metrics.empty()) {
    if (request->every.count() == 0) return UsageError(kName, "--metrics needs --watch (a single count ends at once)");
    if (auto at = ParseMetricsFlag(o.metrics); !at) return UsageError(kName, at.error().context);
  }
  if (request->every.count() > 0) return Watch(*request, o);
  auto c = CountOnce(*request);
  if (!c) return RuntimeError(kName, c.error());
  Warn(*c);
  if (o.json) fmt::print("{}\n", report::CountJson(request->query, *c).dump(2));
  else if (o.classic) fmt::print("{}\n", c->total);
  else fmt::print("{}", report::CountText(request->query, *c));
  return kExitOk;
}

}  // namespace tcpmax::cli

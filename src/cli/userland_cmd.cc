// `tcpmax userland serve|load`: the TCP engine in user space over TUN.
// Parses flags, installs SIGINT/SIGTERM handlers (the engines stop and undo
// every system change), prints progress on stderr and the result on stdout.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "core/address.h"
#include "core/units.h"
#include "report/userland.h"
#include "sys/meminfo.h"
#include "sys/reader.h"
#include "userland/load.h"
#include "userland/serve.h"

namespace tcpmax::cli {
namespace {

using userland::LoadOptions;
using userland::LoadReport;
using userland::ServeOptions;
using userland::ServeReport;

void Note(const std::string& line) { fmt::print(stderr, "tcpmax userland: {}\n", line); }

// "198.18.0.1:80", "198.18.0.1:80,8080", "198.18.0.1:7000-7009".
Result<std::pair<uint32_t, std::vector<uint16_t>>> ParseTarget(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return PlainError("'" + text + "': expected ADDRESS:PORTS, e.g. 198.18.0.1:80");
  auto ip = ParseIp(text.substr(0, colon));
  if (!ip) return tl::unexpected(ip.error());
  if (ip->is_v6()) return PlainError("'" + text + "': the userland engine speaks IPv4 only");
  if (!userland::InBenchRange(ip->v4()) || ip->v4() == userland::kKernelClientAddr) {
    return PlainError("'" + text + "': the address must be in 198.18.0.0/15 (not 198.18.255.254, the kernel's)");
  }
  auto ranges = ParsePortRanges(text.substr(colon + 1));
  if (!ranges) return tl::unexpected(ranges.error());
  std::vector<uint16_t> ports;
  for (const PortRange& r : *ranges) {
    for (uint32_t p = r.lo; p <= r.hi; ++p) {
      if (ports.size() >= userland::tcp::ConnTable::kMaxLocalIndex) {
        return PlainError("'" + text + "': at most 128 ports");
      }
      // Port 0 is no port; a port twice would give one tuple two indexes.
      if (p == 0 || std::find(ports.begin(), ports.end(), uint16_t(p)) != ports.end()) {
        return PlainError(fmt::format("'{}': port {} is {}", text, p, p == 0 ? "not a port" : "given twice"));
      }
      ports.push_back(uint16_t(p));
    }
  }
  return std::make_pair(ip->v4(), ports);
}

// ---- serve ----

// Half of MemAvailable at 48 B per connection (a slot is 16 B; the table keeps
// a load of 3/8 to 3/4 and doubles while it grows): growth must end in a
// counted table_full, not in the OOM killer.
std::optional<uint64_t> MemAvailableBytes() {
  sys::LiveReader reader;
  auto mem = sys::ReadMeminfo(reader);
  return mem ? mem->mem_available() : std::nullopt;
}

uint64_t DefaultMaxConnections() {
  std::optional<uint64_t> avail = MemAvailableBytes();
  if (!avail) return 10'000'000;
  return std::max<uint64_t>(1'000, *avail / 2 / 48);
}

int Serve(int argc, char** argv) {
  CLI::App app{"serve TCP from a user-space engine over TUN: SYN cookies, 16-byte connection slots, no fd per "
               "connection. Creates netns NAME with a TUN routed to the engine; removes them on exit.",
               "serve"};
  ConfigureApp(app);
  std::string listen = "198.18.0.1:80", mode = "hold", reserve = "0", duration = "0";
  ServeOptions o;
  bool json = false;
  app.add_option("--listen", listen, "ADDRESS:PORTS the engine answers (198.18.0.0/15; ports '80,8080' or '7000-7009')");
  app.add_option("--mode", mode, "hold (ACK and discard data) or echo (send data back)");
  auto* netns_flag =
      app.add_option("--netns", o.netns, "network namespace to create (refused if it exists); removed on exit");
  std::string reuse;
  app.add_option("--netns-reuse", reuse,
                 "run in this existing namespace instead (never the host's); left in place on exit")
      ->excludes(netns_flag)
      ->type_name("NAME");
  app.add_option("--tun", o.tun, "TUN device name inside the namespace");
  app.add_option("--route", o.route, "range routed into the TUN (inside 198.18.0.0/15)");
  app.add_option("--reserve", reserve, "size the connection table for this many connections up front (10M)");
  app.add_option("--duration", duration, "stop after this long (0: until SIGINT/SIGTERM)");
  std::string max_conns;
  app.add_option("--max-connections", max_conns,
                 "cap the table; a final ACK past it is reset and counted as table_full (default: half of "
                 "MemAvailable at 48 B per connection)");
  app.add_flag("--json", json, "print the result as JSON");
  if (auto rc = ParseArgs(app, argc, argv)) return *rc;
  if (!max_conns.empty()) {
    auto m = ParseCount(max_conns);
    if (!m || *m == 0) return UsageError("userland serve", "--max-connections: " + (m ? "must be at least 1" : m.error().context));
    o.max_connections = *m;
  } else {
    o.max_connections = DefaultMaxConnections();
  }
  if (!reuse.empty()) o.netns = reuse, o.netns_reuse = true;
  auto target = ParseTarget(listen);
  if (!target) return UsageError("userland serve", "--listen " + target.error().context);
  o.ip = target->first;
  o.ports = target->second;
  if (mode != "hold" && mode != "echo") return UsageError("userland serve", "--mode '" + mode + "': use hold or echo");
  o.mode = mode == "echo" ? userland::tcp::ServeMode::kEcho : userland::tcp::ServeMode::kHold;
  auto route = ParseCidr(o.route);
  if (!route || route->base.is_v6() || !userland::InBenchRange(route->base.v4()) || route->prefix < 15) {
    return UsageError("userland serve", "--route '" + o.route + "': must be a range inside 198.18.0.0/15");
  }
  if (!route->Contains(IpAddress::V4(o.ip))) {
    return UsageError("userland serve", "--route '" + o.route + "' does not contain the --listen address");
  }
  auto n = ParseCount(reserve);
  if (!n) return UsageError("userland serve", "--reserve " + n.error().context);
  o.reserve = *n;
  auto d = ParseDuration(duration);
  if (!d) return UsageError("userland serve", "--duration " + d.error().context);
  o.duration_ns = uint64_t(d->count());
  if (!userland::link::ValidIfName(o.netns) || !userland::link::ValidIfName(o.tun)) {
    return UsageError("userland serve", "--netns/--tun: names are [A-Za-z0-9_.-]{1,15}");
  }

  const std::atomic<bool>& stop = StopOnSignals();
  Progress progress;
  auto report = userland::RunServe(o, Note, stop,
                                   [&](const ServeReport& r) { progress.Update(report::UserlandServeProgress(r)); });
  progress.Finish();
  if (!report) return RuntimeError("userland serve", report.error());
  if (json) {
    fmt::print("{}\n", report::UserlandServeJson(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", report::UserlandServeText(*report));
  }
  return kExitOk;
}

// ---- load ----

int Load(int argc, char** argv) {
  CLI::App app{"open N connections from a stateless user-space client over TUN (one bit per tuple), optionally "
               "verify K of them. Creates netns NAME (or runs in --netns-reuse NAME) with a TUN for the source range.",
               "load"};
  ConfigureApp(app);
  std::string target_text, connections, source = "198.19.0.0/16", sports = "1024-65535", rate = "200k/s",
                                        verify = "0", hold = "0", timeout = "0";
  LoadOptions o;
  bool json = false;
  app.add_option("target", target_text, "ADDRESS:PORTS to connect to (198.18.0.0/15)")->required();
  app.add_option("--connections,-n", connections, "how many connections (10k, 10M)")->required();
  app.add_option("--source", source, "source address range (inside 198.18.0.0/15)");
  app.add_option("--source-ports", sports, "source port range");
  app.add_option("--rate", rate, "SYNs (and probes) per second");
  app.add_option("--passes", o.max_passes, "SYN passes: the first plus resends to unanswered tuples")
      ->check(CLI::Range(1, 100));
  app.add_option("--in-flight", o.in_flight, "at most this many SYNs/probes unanswered at a time (flow control)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--verify", verify, "probe this many random established connections");
  app.add_option("--hold", hold, "keep running this long after the handshakes (and verify)");
  app.add_option("--timeout", timeout, "give up after this long in all (0: none)");
  auto* netns_flag =
      app.add_option("--netns", o.netns, "network namespace to create (refused if it exists); removed on exit");
  std::string reuse;
  app.add_option("--netns-reuse", reuse,
                 "run in this existing namespace instead (never the host's); left in place on exit")
      ->excludes(netns_flag)
      ->type_name("NAME");
  app.add_option("--tun", o.tun, "TUN device name inside the namespace");
  app.add_flag("--json", json, "print the result as JSON");
  if (auto rc = ParseArgs(app, argc, argv)) return *rc;
  if (!reuse.empty()) o.netns = reuse, o.netns_reuse = true;
  auto target = ParseTarget(target_text);
  if (!target) return UsageError("userland load", target.error().context);
  o.dst_ip = target->first;
  o.dst_ports = target->second;
  auto cidr = ParseCidr(source);
  if (!cidr || cidr->base.is_v6() || !userland::InBenchRange(cidr->base.v4()) || cidr->prefix < 15) {
    return UsageError("userland load", "--source '" + source + "': must be an IPv4 range inside 198.18.0.0/15");
  }
  if (cidr->Contains(IpAddress::V4(o.dst_ip)) || cidr->Contains(IpAddress::V4(userland::kKernelClientAddr))) {
    return UsageError("userland load", "--source '" + source + "' must not contain the target or 198.18.255.254");
  }
  o.source = *cidr;
  auto ports = ParsePortRanges(sports);
  if (!ports || ports->size() != 1) return UsageError("userland load", "--source-ports '" + sports + "': one range, e.g. 1024-65535");
  o.source_ports = ports->front();
  auto n = ParseCount(connections);
  if (!n || *n == 0) return UsageError("userland load", "--connections '" + connections + "': a positive count");
  o.connections = *n;
  uint64_t space = o.source.Size() * o.source_ports.Size() * o.dst_ports.size();
  if (o.connections > space) {
    return UsageError("userland load", fmt::format("--connections {} exceeds the {} tuples of --source x --source-ports x target ports",
                                                   FormatCount(o.connections), FormatCount(space)));
  }
  // Three bits per connection, zero-filled up front: refuse before any
  // namespace is made rather than fail (or meet the OOM killer) after.
  if (auto avail = MemAvailableBytes(); avail && o.connections / 8 * 3 > *avail / 2) {
    return UsageError("userland load", fmt::format("--connections {} needs {} of bitmaps, more than half of "
                                                   "MemAvailable ({})",
                                                   FormatCount(o.connections), FormatBytes(double(o.connections / 8 * 3)),
                                                   FormatBytes(double(*avail))));
  }
  auto r = ParseRate(rate);
  if (!r || *r <= 0) return UsageError("userland load", "--rate '" + rate + "': a positive rate, e.g. 50k/s");
  o.rate = *r;
  auto k = ParseCount(verify);
  if (!k) return UsageError("userland load", "--verify " + k.error().context);
  o.verify = *k;
  auto h = ParseDuration(hold);
  if (!h) return UsageError("userland load", "--hold " + h.error().context);
  o.hold_ns = uint64_t(h->count());
  auto t = ParseDuration(timeout);
  if (!t) return UsageError("userland load", "--timeout " + t.error().context);
  o.timeout_ns = uint64_t(t->count());
  if (!userland::link::ValidIfName(o.netns) || !userland::link::ValidIfName(o.tun)) {
    return UsageError("userland load", "--netns/--tun: names are [A-Za-z0-9_.-]{1,15}");
  }

  const std::atomic<bool>& stop = StopOnSignals();
  Progress progress;
  auto report = userland::RunLoad(o, Note, stop,
                                  [&](const LoadReport& r) { progress.Update(report::UserlandLoadProgress(r)); });
  progress.Finish();
  if (!report) return RuntimeError("userland load", report.error());
  if (json) {
    fmt::print("{}\n", report::UserlandLoadJson(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", report::UserlandLoadText(*report));
  }
  bool complete = report->phase == userland::LoadPhase::kDone && !stop.load();
  return complete ? kExitOk : kExitFailure;
}

}  // namespace

int RunUserland(int argc, char** argv) {
  if (argc >= 2) {
    std::string sub = argv[1];
    if (sub == "serve") return Serve(argc - 1, argv + 1);
    if (sub == "load") return Load(argc - 1, argv + 1);
    if (sub != "--help" && sub != "-h" && sub != "help") {
      return UsageError("userland", "unknown subcommand '" + sub + "': use serve or load");
    }
    fmt::print("usage: tcpmax userland serve [flags]   (tcpmax userland serve --help)\n"
               "       tcpmax userland load ADDRESS:PORTS --connections N [flags]\n");
    return kExitOk;
  }
  return UsageError("userland", "missing subcommand: serve or load (tcpmax userland --help)");
}

}  // namespace tcpmax::cli

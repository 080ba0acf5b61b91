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

// The tail both subcommands share: run with a progress line, then print the
// report as JSON or text, or the error (nullopt then, the error printed).
template <typename Report, typename Run, typename Line, typename Json, typename Text>
std::optional<Report> RunAndPrint(std::string_view name, bool json, Run run, Line line, Json to_json, Text to_text) {
  Progress progress;
  auto report = run([&](const Report& r) { progress.Update(line(r)); });
  progress.Finish();
  if (!report) {
    RuntimeError(name, report.error());
    return std::nullopt;
  }
  if (json) {
    fmt::print("{}\n", to_json(*report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", to_text(*report));
  }
  return std::move(*report);
}

// An engine's address and ports: "198.18.0.1:80", "198.18.0.1:80,8080",
// "198.18.0.1:7000-7009", or IPv6 in brackets: "[2001:db8::1]:80".
struct Target {
  IpAddress ip;
  std::vector<uint16_t> ports;
};

Result<IpAddress> ParseEngineAddress(const std::string& text, const std::string& addr) {
  bool bracketed = addr.size() > 2 && addr.front() == '[' && addr.back() == ']';
  auto ip = ParseIp(bracketed ? addr.substr(1, addr.size() - 2) : addr);
  if (!ip) return tl::unexpected(ip.error());
  if (ip->is_v6() != bracketed) {
    return PlainError("'" + text + "': " + (bracketed ? "brackets hold an IPv6 address" : "write IPv6 as [ADDRESS]:PORTS"));
  }
  if (ip->is_v6()) {
    userland::wire::Ip6 a = userland::ToIp6(*ip);
    if (!userland::InBenchRange6(a) || a == userland::kKernelClientAddr6) {
      return PlainError("'" + text + "': an IPv6 address must be in 2001:db8::/32 (not 2001:db8::fffe, the kernel's)");
    }
  } else if (!userland::InBenchRange(ip->v4()) || ip->v4() == userland::kKernelClientAddr) {
    return PlainError("'" + text + "': the address must be in 198.18.0.0/15 (not 198.18.255.254, the kernel's)");
  }
  return *ip;
}

Result<Target> ParseTarget(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return PlainError("'" + text + "': expected ADDRESS:PORTS, e.g. 198.18.0.1:80 or [2001:db8::1]:80");
  }
  if (text.find(':') != colon && text.front() != '[') {
    return PlainError("'" + text + "': write IPv6 as [ADDRESS]:PORTS, e.g. [2001:db8::1]:80");
  }
  auto ip = ParseEngineAddress(text, text.substr(0, colon));
  if (!ip) return tl::unexpected(ip.error());
  auto ranges = ParsePortRanges(text.substr(colon + 1));
  if (!ranges) return tl::unexpected(ranges.error());
  Target t{*ip, {}};
  for (const PortRange& r : *ranges) {
    for (uint32_t p = r.lo; p <= r.hi; ++p) {
      if (t.ports.size() >= userland::tcp::ConnTable::kMaxLocalIndex) {
        return PlainError("'" + text + "': at most 128 ports");
      }
      // Port 0 is no port; a port twice would give one tuple two indexes.
      if (p == 0 || std::find(t.ports.begin(), t.ports.end(), uint16_t(p)) != t.ports.end()) {
        return PlainError(fmt::format("'{}': port {} is {}", text, p, p == 0 ? "not a port" : "given twice"));
      }
      t.ports.push_back(uint16_t(p));
    }
  }
  return t;
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

// --netns NAME (created, removed on exit), or --netns-reuse NAME, and --tun.
void AddNetnsFlags(CLI::App& app, std::string& netns, std::string& reuse, std::string& tun) {
  auto* netns_flag = app.add_option("--netns", netns, "network namespace to create (refused if it exists); removed on exit");
  app.add_option("--netns-reuse", reuse, "run in this existing namespace instead (never the host's); left in place on exit")
      ->excludes(netns_flag)
      ->type_name("NAME");
  app.add_option("--tun", tun, "TUN device name inside the namespace");
}

// --link, --interface and --firewall of either subcommand (`what` says
// which addresses the firewall keeps the kernel away from).
void AddLinkFlags(CLI::App& app, std::string& link, std::string& interface, std::string& firewall,
                  const std::string& what) {
  app.add_option("--link", link,
                 "tun (a TUN in a namespace tcpmax makes) or af_packet (a packet socket on --interface, in the "
                 "namespace tcpmax runs in)")
      ->check(CLI::IsMember({"tun", "af_packet"}));
  app.add_option("--interface", interface, "af_packet: the interface")->type_name("IF");
  app.add_option("--firewall", firewall,
                 "af_packet: install (an nftables table of this run that keeps the kernel's TCP away from " + what +
                     "; removed on exit), print (print those rules and exit, changing nothing) or none (the operator "
                     "installed them)")
      ->check(CLI::IsMember({"install", "print", "none"}));
}

// The shared checks of --link/--interface/--firewall.
Result<userland::LinkKind> ValidateLink(const std::string& link, const std::string& interface,
                                        const std::string& firewall, bool netns_given) {
  if (link != "af_packet") {
    if (!interface.empty() || firewall != "install") return PlainError("--interface/--firewall need --link af_packet");
    return userland::LinkKind::kTun;
  }
  if (interface.empty()) return PlainError("--link af_packet needs --interface IF");
  if (!userland::link::ValidIfName(interface)) return PlainError("--interface '" + interface + "': not an interface name");
  if (netns_given) return PlainError("--netns/--netns-reuse/--tun/--route apply to --link tun only");
  return userland::LinkKind::kAfPacket;
}

struct ServeFlags {
  std::string listen = "198.18.0.1:80", mode = "hold", reserve = "0", duration = "0", reuse, max_conns;
  std::string link = "tun", interface, firewall = "install";
  bool netns_given = false;  // any of --netns, --netns-reuse, --tun, --route
  bool route_given = false;
  bool json = false;
};

void AddServeFlags(CLI::App& app, ServeFlags& f, ServeOptions& o) {
  app.add_option("--listen", f.listen,
                 "ADDRESS:PORTS the engine answers (198.18.0.0/15, or IPv6 in 2001:db8::/32 as [2001:db8::1]:80; ports "
                 "'80,8080' or '7000-7009')");
  app.add_option("--mode", f.mode, "hold (ACK and discard data) or echo (send data back)")
      ->check(Values(Names(userland::tcp::kServeModes, userland::tcp::ServeModeName)));
  AddNetnsFlags(app, o.netns, f.reuse, o.tun);
  app.add_option("--route", o.route,
                 "range routed into the TUN (inside 198.18.0.0/15; for an IPv6 --listen inside 2001:db8::/32, default "
                 "2001:db8::/32)");
  AddLinkFlags(app, f.link, f.interface, f.firewall,
               "the engine's address and ports (the kernel must own the --listen address on --interface)");
  app.add_option("--threads", o.threads,
                 "af_packet: engine threads, each with its own packet socket (fanout by peer) and its own share of "
                 "the connection table")
      ->check(CLI::Range(1, 64));
  app.add_option("--reserve", f.reserve, "size the connection table for this many connections up front (10M)");
  app.add_option("--duration", f.duration, "stop after this long (0: until SIGINT/SIGTERM)");
  app.add_option("--max-connections", f.max_conns,
                 "cap the table; a final ACK past it is reset and counted as table_full (default: half of "
                 "MemAvailable at 48 B per connection)");
  app.add_flag("--json", f.json, "print the result as JSON");
}

// --link, --interface and --firewall; the TUN flags apply to --link tun only.
Result<void> ValidateServeLink(const ServeFlags& f, ServeOptions& o) {
  auto kind = ValidateLink(f.link, f.interface, f.firewall, f.netns_given);
  if (!kind) return tl::unexpected(kind.error());
  o.link = *kind;
  o.firewall = f.firewall == "install";
  o.interface = f.interface;
  if (o.threads > 1 && o.link != userland::LinkKind::kAfPacket) return PlainError("--threads needs --link af_packet");
  return {};
}

// Flags into ServeOptions; an error is a usage error.
Result<void> ValidateServe(const ServeFlags& f, ServeOptions& o) {
  if (!f.max_conns.empty()) {
    auto m = ParseCount(f.max_conns);
    if (!m || *m == 0) return PlainError("--max-connections: " + (m ? "must be at least 1" : m.error().context));
    o.max_connections = *m;
  } else {
    o.max_connections = DefaultMaxConnections();
  }
  if (!f.reuse.empty()) o.netns = f.reuse, o.netns_reuse = true;
  auto target = ParseTarget(f.listen);
  if (!target) return PlainError("--listen " + target.error().context);
  o.v6 = target->ip.is_v6();
  if (o.v6) {
    o.ip6 = userland::ToIp6(target->ip);
    if (!f.route_given) o.route = userland::kDefaultRoute6;
  } else {
    o.ip = target->ip.v4();
  }
  o.ports = target->ports;
  if (f.mode != "hold" && f.mode != "echo") return PlainError("--mode '" + f.mode + "': use hold or echo");
  o.mode = f.mode == "echo" ? userland::tcp::ServeMode::kEcho : userland::tcp::ServeMode::kHold;
  auto route = ParseCidr(o.route);
  bool route_ok = route && route->base.is_v6() == o.v6 &&
                  (o.v6 ? userland::InBenchRange6(userland::ToIp6(route->base)) && route->prefix >= 32
                        : userland::InBenchRange(route->base.v4()) && route->prefix >= 15);
  if (!route_ok) {
    return PlainError("--route '" + o.route + "': must be a range inside " +
                      (o.v6 ? "2001:db8::/32 (the --listen address is IPv6)" : "198.18.0.0/15"));
  }
  if (!route->Contains(target->ip)) return PlainError("--route '" + o.route + "' does not contain the --listen address");
  auto n = ParseCount(f.reserve);
  if (!n) return PlainError("--reserve " + n.error().context);
  o.reserve = *n;
  auto d = ParseDuration(f.duration);
  if (!d) return PlainError("--duration " + d.error().context);
  o.duration_ns = uint64_t(d->count());
  if (!userland::link::ValidIfName(o.netns) || !userland::link::ValidIfName(o.tun)) {
    return PlainError("--netns/--tun: names are [A-Za-z0-9_.-]{1,15}");
  }
  return ValidateServeLink(f, o);
}

int Serve(int argc, char** argv) {
  CLI::App app{"serve TCP from a user-space engine over TUN: SYN cookies, 16-byte connection slots, no fd per "
               "connection. Creates netns NAME with a TUN routed to the engine; removes them on exit.",
               "serve"};
  ConfigureApp(app);
  ServeFlags f;
  ServeOptions o;
  AddServeFlags(app, f, o);
  if (auto rc = ParseArgs(app, argc, argv)) return *rc;
  f.netns_given = app.count("--netns") + app.count("--netns-reuse") + app.count("--tun") + app.count("--route") > 0;
  f.route_given = app.count("--route") > 0;
  if (auto v = ValidateServe(f, o); !v) return UsageError("userland serve", v.error().context);
  if (o.link == userland::LinkKind::kAfPacket && f.firewall == "print") {
    userland::link::FirewallSpec spec = userland::ServeFirewallSpec(o);
    spec.table = "tcpmax";
    fmt::print("{}", userland::link::RenderFirewall(spec));
    return kExitOk;
  }
  if (o.link == userland::LinkKind::kAfPacket) {
    if (auto c = userland::CheckServeInterface(o); !c) return UsageError("userland serve", c.error().ToString());
  }

  const std::atomic<bool>& stop = StopOnSignals();
  auto report = RunAndPrint<ServeReport>(
      "userland serve", f.json, [&](auto progress) { return userland::RunServe(o, Note, stop, progress); },
      report::UserlandServeProgress, report::UserlandServeJson, report::UserlandServeText);
  return report ? kExitOk : kExitFailure;
}

// ---- load ----

struct LoadFlags {
  std::string target, connections, source, sports = "1024-65535", rate = "200k/s", verify = "0",
                                   hold = "0", timeout = "0", reuse;
  std::string link = "tun", interface, firewall = "install";
  bool netns_given = false;  // any of --netns, --netns-reuse, --tun
  bool json = false;
};



void AddLoadFlags(CLI::App& app, LoadFlags& f, LoadOptions& o) {
  app.add_option("target", f.target,
                 "ADDRESS:PORTS to connect to (198.18.0.0/15, or IPv6 in 2001:db8::/32 as [2001:db8::1]:80)")
      ->required();
  app.add_option("--connections,-n", f.connections, "how many connections (10k, 10M)")->required();
  app.add_option("--source", f.source,
                 "source address range (inside 198.18.0.0/15, default 198.19.0.0/16; for an IPv6 target a /96 or "
                 "narrower inside 2001:db8::/32, default 2001:db8:1::/112)");
  app.add_option("--source-ports", f.sports, "source port range");
  app.add_option("--rate", f.rate, "SYNs (and probes) per second");
  app.add_option("--passes", o.max_passes, "SYN passes: the first plus resends to unanswered tuples")
      ->check(CLI::Range(1, 100));
  app.add_option("--in-flight", o.in_flight, "at most this many SYNs/probes unanswered at a time (flow control)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--verify", f.verify, "probe this many random established connections");
  app.add_option("--hold", f.hold, "keep running this long after the handshakes (and verify)");
  app.add_option("--timeout", f.timeout, "give up after this long in all (0: none)");
  AddNetnsFlags(app, o.netns, f.reuse, o.tun);
  AddLinkFlags(app, f.link, f.interface, f.firewall, "the source range and ports");
  app.add_option("--threads", o.threads,
                 "af_packet: engine threads (a power of two), each owning an equal part of --source with its own "
                 "packet socket")
      ->check(CLI::Range(1, 64));
  app.add_flag("--json", f.json, "print the result as JSON");
}

// The tuple space and memory checks of a load: refused before any namespace
// is made rather than failing (or meeting the OOM killer) after.
Result<void> ValidateLoadSize(const LoadOptions& o) {
  uint64_t space = o.source.Size() * o.source_ports.Size() * o.dst_ports.size();
  if (o.connections > space) {
    return PlainError(fmt::format("--connections {} exceeds the {} tuples of --source x --source-ports x target ports",
                                  FormatCount(o.connections), FormatCount(space)));
  }
  // Three bits per connection, zero-filled up front.
  if (auto avail = MemAvailableBytes(); avail && o.connections / 8 * 3 > *avail / 2) {
    return PlainError(fmt::format("--connections {} needs {} of bitmaps, more than half of MemAvailable ({})",
                                  FormatCount(o.connections), FormatBytes(double(o.connections / 8 * 3)),
                                  FormatBytes(double(*avail))));
  }
  return {};
}

// --source: IPv4 inside 198.18.0.0/15; for an IPv6 target, IPv6 inside
// 2001:db8::/32 and no wider than a /96 (the engines keep the low 32 bits);
// never containing the target or the kernel client address.
Result<Cidr> ValidateSource(const std::string& text, const IpAddress& target) {
  auto cidr = ParseCidr(text);
  if (target.is_v6()) {
    if (!cidr || !cidr->base.is_v6() || !userland::InBenchRange6(userland::ToIp6(cidr->base)) || cidr->prefix < 96) {
      return PlainError("--source '" + text + "': for an IPv6 target, an IPv6 range inside 2001:db8::/32 of at most "
                        "/96 (e.g. 2001:db8:1::/112)");
    }
    if (cidr->Contains(target) || cidr->Contains(userland::FromIp6(userland::kKernelClientAddr6))) {
      return PlainError("--source '" + text + "' must not contain the target or 2001:db8::fffe");
    }
    return *cidr;
  }
  if (!cidr || cidr->base.is_v6() || !userland::InBenchRange(cidr->base.v4()) || cidr->prefix < 15) {
    return PlainError("--source '" + text + "': must be an IPv4 range inside 198.18.0.0/15");
  }
  if (cidr->Contains(target) || cidr->Contains(IpAddress::V4(userland::kKernelClientAddr))) {
    return PlainError("--source '" + text + "' must not contain the target or 198.18.255.254");
  }
  return *cidr;
}

// Flags into LoadOptions; an error is a usage error.
Result<void> ValidateLoad(const LoadFlags& f, LoadOptions& o) {
  if (!f.reuse.empty()) o.netns = f.reuse, o.netns_reuse = true;
  auto target = ParseTarget(f.target);
  if (!target) return tl::unexpected(target.error());
  o.v6 = target->ip.is_v6();
  if (o.v6) {
    o.dst_ip6 = userland::ToIp6(target->ip);
    o.dst_ip = o.dst_ip6.Low32();
  } else {
    o.dst_ip = target->ip.v4();
  }
  o.dst_ports = target->ports;
  auto source = ValidateSource(f.source.empty() ? (o.v6 ? "2001:db8:1::/112" : "198.19.0.0/16") : f.source, target->ip);
  if (!source) return tl::unexpected(source.error());
  o.source = *source;
  auto ports = ParsePortRanges(f.sports);
  if (!ports || ports->size() != 1) return PlainError("--source-ports '" + f.sports + "': one range, e.g. 1024-65535");
  o.source_ports = ports->front();
  auto n = ParseCount(f.connections);
  if (!n || *n == 0) return PlainError("--connections '" + f.connections + "': a positive count");
  o.connections = *n;
  if (auto size = ValidateLoadSize(o); !size) return size;
  auto r = ParseRate(f.rate);
  if (!r || *r <= 0) return PlainError("--rate '" + f.rate + "': a positive rate, e.g. 50k/s");
  o.rate = *r;
  auto k = ParseCount(f.verify);
  if (!k) return PlainError("--verify " + k.error().context);
  o.verify = *k;
  auto h = ParseDuration(f.hold);
  if (!h) return PlainError("--hold " + h.error().context);
  o.hold_ns = uint64_t(h->count());
  auto t = ParseDuration(f.timeout);
  if (!t) return PlainError("--timeout " + t.error().context);
  o.timeout_ns = uint64_t(t->count());
  if (!userland::link::ValidIfName(o.netns) || !userland::link::ValidIfName(o.tun)) {
    return PlainError("--netns/--tun: names are [A-Za-z0-9_.-]{1,15}");
  }
  auto kind = ValidateLink(f.link, f.interface, f.firewall, f.netns_given);
  if (!kind) return tl::unexpected(kind.error());
  o.link = *kind;
  o.firewall = f.firewall == "install";
  o.interface = f.interface;
  if (o.threads > 1 && o.link != userland::LinkKind::kAfPacket) return PlainError("--threads needs --link af_packet");
  if ((o.threads & (o.threads - 1)) != 0 || o.threads > o.source.Size()) {
    return PlainError(fmt::format("--threads {}: a power of two, at most the {} addresses of --source", o.threads,
                                  o.source.Size()));
  }
  return {};
}

int Load(int argc, char** argv) {
  CLI::App app{"open N connections from a stateless user-space client over TUN (one bit per tuple), optionally "
               "verify K of them. Creates netns NAME (or runs in --netns-reuse NAME) with a TUN for the source range.",
               "load"};
  ConfigureApp(app);
  LoadFlags f;
  LoadOptions o;
  AddLoadFlags(app, f, o);
  if (auto rc = ParseArgs(app, argc, argv)) return *rc;
  f.netns_given = app.count("--netns") + app.count("--netns-reuse") + app.count("--tun") > 0;
  if (auto v = ValidateLoad(f, o); !v) return UsageError("userland load", v.error().context);
  if (o.link == userland::LinkKind::kAfPacket && f.firewall == "print") {
    userland::link::FirewallSpec spec = userland::LoadFirewallSpec(o);
    spec.table = "tcpmax";
    fmt::print("{}", userland::link::RenderFirewall(spec));
    return kExitOk;
  }
  if (o.link == userland::LinkKind::kAfPacket) {
    if (auto c = userland::CheckLoadInterface(o); !c) return UsageError("userland load", c.error().ToString());
  }

  const std::atomic<bool>& stop = StopOnSignals();
  auto report = RunAndPrint<LoadReport>(
      "userland load", f.json, [&](auto progress) { return userland::RunLoad(o, Note, stop, progress); },
      report::UserlandLoadProgress, report::UserlandLoadJson, report::UserlandLoadText);
  if (!report) return kExitFailure;
  bool complete = report->phase == userland::LoadPhase::kDone && !stop.load();
  return complete ? kExitOk : kExitFailure;
}

constexpr Command kUserlandCommands[] = {
    {"serve", "serve TCP from a user-space engine over TUN or AF_PACKET (SYN cookies, no fd per connection)", Serve},
    {"load", "open N connections from a stateless user-space client over TUN or AF_PACKET", Load},
};

}  // namespace

std::span<const Command> UserlandCommands() { return kUserlandCommands; }

int RunUserland(int argc, char** argv) {
  if (argc >= 2) {
    std::string sub = argv[1];
    for (const Command& c : kUserlandCommands) {
      if (sub == c.name) return c.run(argc - 1, argv + 1);
    }
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

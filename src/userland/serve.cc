#include "userland/serve.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sys/process.h"

#include "core/address.h"
#include "core/clock.h"
#include "core/units.h"
#include "userland/engine_loop.h"
#include "userland/link/af_packet_link.h"
#include "userland/link/shared_interface.h"
#include "sys/nft.h"

namespace tcpmax::userland {

double ServeReport::RssBytesPerConnection() const {
  if (established == 0 || rss_now < rss_base) return 0;
  return double(rss_now - rss_base) / double(established);
}

std::string_view LinkKindName(LinkKind k) { return k == LinkKind::kAfPacket ? "af_packet" : "tun"; }

link::FirewallSpec ServeFirewallSpec(const ServeOptions& o) {
  link::FirewallSpec spec;
  spec.table = link::FirewallTableName();
  spec.local = Cidr::Host(o.address());
  for (uint16_t p : o.ports) spec.local_ports.push_back(PortRange{p, p});
  return spec;
}

Result<void> CheckServeInterface(const ServeOptions& o) {
  if (auto r = link::CheckSharedInterface(o.interface, o.address(), o.ports); !r) return r;
  if (o.firewall) return sys::NftAvailable();
  return {};
}

namespace {

// What the engines run over, and what was set up for them; members are
// destroyed in reverse: the links first, then the firewall or namespace.
struct ServeLink {
  std::unique_ptr<link::NetnsSetup> ns;
  std::unique_ptr<link::Firewall> firewall;
  std::vector<std::unique_ptr<link::PacketLink>> links;  // one per engine thread
  uint16_t mss = 1460;
};

std::string KernelClientAddress(const ServeOptions& o) {
  return o.v6 ? FromIp6(kKernelClientAddr6).ToString() : IpAddress::V4(kKernelClientAddr).ToString();
}

Result<void> SetUpServeLink(link::NetnsSetup& ns, const ServeOptions& o) {
  std::string kernel_addr = KernelClientAddress(o);
  // No IPv6 link-local address: the kernel would send router solicitations into the TUN.
  if (auto r = ns.Ip({"link", "set", o.tun, "addrgenmode", "none"}); !r) return r;
  if (auto r = ns.Ip({"link", "set", o.tun, "up", "txqueuelen", "65536"}); !r) return r;
  if (o.v6) {
    // nodad: the address is usable at once (no duplicate detection on a TUN of our own).
    if (auto r = ns.Ip({"addr", "add", kernel_addr + "/128", "dev", o.tun, "nodad"}); !r) return r;
    return ns.Ip({"route", "add", o.route, "dev", o.tun});
  }
  if (auto r = ns.Ip({"addr", "add", kernel_addr + "/32", "dev", o.tun}); !r) return r;
  return ns.Ip({"route", "add", o.route, "dev", o.tun, "src", kernel_addr});
}

Result<void> OpenTun(const ServeOptions& o, const link::Notify& notify, ServeLink& out) {
  auto ns = link::NetnsSetup::Open(o.netns, o.netns_reuse, notify);
  if (!ns) return tl::unexpected(ns.error());
  out.ns = std::move(*ns);
  auto tun = out.ns->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  out.links.push_back(std::move(*tun));
  return SetUpServeLink(*out.ns, o);
}

// The firewall goes in first: until the packet sockets are open, the kernel
// drops the engine's segments (peers resend) instead of resetting them. With
// several threads, one socket each joins a fanout group that spreads
// segments by peer (link::FanoutByPeer): each engine owns its connections.
Result<void> OpenAfPacket(const ServeOptions& o, const link::Notify& notify, ServeLink& out) {
  if (o.firewall) {
    auto fw = link::Firewall::Install(ServeFirewallSpec(o), notify);
    if (!fw) return tl::unexpected(fw.error());
    out.firewall = std::move(*fw);
  } else if (notify) {
    notify("--firewall none: the kernel's RSTs for the engine's ports must be dropped by the operator's rules");
  }
  link::AfPacketConfig config;
  config.interface = o.interface;
  config.local = Cidr::Host(o.address());
  for (uint16_t p : o.ports) config.local_ports.push_back(PortRange{p, p});
  if (o.threads > 1) config.fanout = link::Fanout{uint16_t((::getpid() & 0x7fff) | 1), link::FanoutByPeer(o.v6)};
  uint32_t mtu = 1500;
  for (uint32_t i = 0; i < o.threads; ++i) {
    auto l = link::AfPacketLink::Open(config);
    if (!l) return tl::unexpected(l.error());
    mtu = (*l)->mtu();
    out.links.push_back(std::move(*l));
  }
  out.mss = uint16_t(std::min<uint32_t>(1460, mtu - 40));
  if (notify) {
    notify(fmt::format("af_packet on {} (MTU {}): {} engine thread(s), TPACKET_V3 ring {} x {} KiB each; answering {} "
                       "on ports {}",
                       o.interface, mtu, o.threads, config.ring_blocks, config.ring_block_bytes / 1024,
                       o.address().ToString(), fmt::join(o.ports, ",")));
  }
  return {};
}

// One engine thread's state. The thread publishes a copy of its counters
// once a second (and at the end) under its own lock; the reporter sums them.
struct ServeShard {
  link::PacketLink* link = nullptr;
  std::unique_ptr<tcp::ServerEngine> engine;
  std::mutex mu;
  tcp::ServerStats stats;
  link::LinkStats link_stats;
  uint64_t established = 0, capacity = 0, bytes = 0;
  uint32_t prefixes = 0;
  std::optional<Error> error;

  void Publish() {
    std::lock_guard<std::mutex> lock(mu);
    stats = engine->stats();
    link_stats = link->stats();
    established = engine->established();
    capacity = engine->table().capacity();
    bytes = engine->table().bytes();
    prefixes = engine->peer_prefixes();
  }
};

void RunShard(ServeShard& shard, std::atomic<bool>& halt) {
  LoopHooks hooks;
  hooks.input = [&](std::span<const uint8_t> p, uint64_t now, tcp::PacketSink& out) { shard.engine->Input(p, now, out); };
  hooks.every_second = [&](uint64_t) { shard.Publish(); };
  auto r = RunLoop(*shard.link, halt, hooks);
  shard.Publish();
  if (!r) {
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.error = r.error();
    halt = true;  // one engine failing stops them all
  }
}

// Sums the shards' published counters into `report`.
void Gather(std::vector<std::unique_ptr<ServeShard>>& shards, ServeReport& report) {
  report.stats = {};
  report.link = {};
  report.established = report.table_capacity = report.table_bytes = 0;
  report.peer_prefixes = 0;
  for (auto& sh : shards) {
    std::lock_guard<std::mutex> lock(sh->mu);
    report.stats += sh->stats;
    report.link += sh->link_stats;
    report.established += sh->established;
    report.table_capacity += sh->capacity;
    report.table_bytes += sh->bytes;
    report.peer_prefixes += sh->prefixes;
  }
  report.peak_established = std::max(report.peak_established, report.established);
}

}  // namespace

Result<ServeReport> RunServe(const ServeOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                             ServeProgress progress) {
  ServeLink sl;
  auto opened = o.link == LinkKind::kAfPacket ? OpenAfPacket(o, notify, sl) : OpenTun(o, notify, sl);
  if (!opened) return tl::unexpected(opened.error());

  tcp::ServerConfig config;
  config.ip = o.ip;
  config.v6 = o.v6;
  config.ip6 = o.ip6;
  config.ports = o.ports;
  config.mode = o.mode;
  size_t n = sl.links.size();
  config.max_connections = o.max_connections == 0 ? 0 : (o.max_connections + n - 1) / n;
  config.mss = o.v6 ? uint16_t(sl.mss - 20) : sl.mss;  // the IPv6 header is 20 bytes longer
  // Every engine checks the same cookies (a connection's segments all reach one engine anyway).
  tcp::SipKey k0 = tcp::RandomSipKey(), k1 = tcp::RandomSipKey();
  // A shard's share with half a percent to spare, so the peer hash's unevenness never doubles a table.
  uint64_t reserve = n == 1 ? o.reserve : o.reserve / n + o.reserve / n / 200 + 1;
  ServeReport report;
  report.link_kind = o.link;
  report.v6 = o.v6;
  report.threads = uint32_t(n);
  report.max_connections = o.max_connections;
  // Before the tables are reserved: bytes per connection include all of them.
  report.rss_base = sys::ResidentBytes().value_or(0);
  std::vector<std::unique_ptr<ServeShard>> shards;
  uint64_t prefault_start = MonotonicNanos();
  for (auto& l : sl.links) {
    auto sh = std::make_unique<ServeShard>();
    sh->link = l.get();
    sh->engine = std::make_unique<tcp::ServerEngine>(config, k0, k1, tcp::RandomSipKey().k0);
    if (o.reserve > 0) {
      if (auto r = sh->engine->Reserve(reserve); !r) return tl::unexpected(r.error());
      if (auto r = sh->engine->Prefault(); !r) return tl::unexpected(r.error());
    }
    sh->Publish();
    shards.push_back(std::move(sh));
  }
  if (o.reserve > 0) {
    report.prefault_seconds = double(MonotonicNanos() - prefault_start) / 1e9;
    if (notify) {
      notify(fmt::format("table reserved for {} connections and faulted in: {} in {:.2f} s", FormatCount(o.reserve),
                         FormatBytes(double(shards.size() * shards.front()->engine->table().bytes())),
                         report.prefault_seconds));
    }
  }
  double cpu_start = CpuSeconds();
  uint64_t start = MonotonicNanos();
  auto fill = [&](uint64_t now) {
    Gather(shards, report);
    report.rss_now = sys::ResidentBytes().value_or(0);
    report.seconds = double(now - start) / 1e9;
    report.cpu_seconds = CpuSeconds() - cpu_start;
  };
  std::atomic<bool> halt{false};
  std::vector<std::thread> threads;
  for (auto& sh : shards) threads.emplace_back(RunShard, std::ref(*sh), std::ref(halt));
  uint64_t next_report = start + 1'000'000'000ull;
  while (!halt.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    uint64_t now = MonotonicNanos();
    if (stop.load() || (o.duration_ns > 0 && now - start >= o.duration_ns)) halt = true;
    if (now >= next_report) {
      fill(now);
      if (progress) progress(report);
      next_report = now + 1'000'000'000ull;
    }
  }
  for (auto& t : threads) t.join();
  fill(MonotonicNanos());
  for (auto& sh : shards) {
    if (sh->error) return tl::unexpected(*sh->error);
  }
  return report;
}

}  // namespace tcpmax::userland

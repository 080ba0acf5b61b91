#include "userland/serve.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sys/process.h"

#include "core/address.h"
#include "core/clock.h"
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
  spec.local = Cidr{IpAddress::V4(o.ip), 32};
  for (uint16_t p : o.ports) spec.local_ports.push_back(PortRange{p, p});
  return spec;
}

Result<void> CheckServeInterface(const ServeOptions& o) {
  if (auto r = link::CheckSharedInterface(o.interface, o.ip, o.ports); !r) return r;
  if (o.firewall) return sys::NftAvailable();
  return {};
}

namespace {

// What the engine runs over, and what was set up for it; members are
// destroyed in reverse: the link first, then the firewall or namespace.
struct ServeLink {
  std::unique_ptr<link::NetnsSetup> ns;
  std::unique_ptr<link::Firewall> firewall;
  std::unique_ptr<link::PacketLink> link;
  uint16_t mss = 1460;
};

Result<void> SetUpServeLink(link::NetnsSetup& ns, const ServeOptions& o) {
  std::string kernel_addr = IpAddress::V4(kKernelClientAddr).ToString();
  // No IPv6 link-local address: the kernel would send router solicitations into the TUN.
  if (auto r = ns.Ip({"link", "set", o.tun, "addrgenmode", "none"}); !r) return r;
  if (auto r = ns.Ip({"link", "set", o.tun, "up", "txqueuelen", "65536"}); !r) return r;
  if (auto r = ns.Ip({"addr", "add", kernel_addr + "/32", "dev", o.tun}); !r) return r;
  return ns.Ip({"route", "add", o.route, "dev", o.tun, "src", kernel_addr});
}

Result<void> OpenTun(const ServeOptions& o, const link::Notify& notify, ServeLink& out) {
  auto ns = link::NetnsSetup::Open(o.netns, o.netns_reuse, notify);
  if (!ns) return tl::unexpected(ns.error());
  out.ns = std::move(*ns);
  auto tun = out.ns->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  out.link = std::move(*tun);
  return SetUpServeLink(*out.ns, o);
}

// The firewall goes in first: until the packet socket is open, the kernel
// drops the engine's segments (peers resend) instead of resetting them.
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
  config.local = Cidr{IpAddress::V4(o.ip), 32};
  for (uint16_t p : o.ports) config.local_ports.push_back(PortRange{p, p});
  auto l = link::AfPacketLink::Open(config);
  if (!l) return tl::unexpected(l.error());
  out.mss = uint16_t(std::min<uint32_t>(1460, (*l)->mtu() - 40));
  if (notify) {
    notify(fmt::format("af_packet on {} (MTU {}): TPACKET_V3 ring {} x {} KiB; answering {} on ports {}", o.interface,
                       (*l)->mtu(), config.ring_blocks, config.ring_block_bytes / 1024, IpAddress::V4(o.ip).ToString(),
                       fmt::join(o.ports, ",")));
  }
  out.link = std::move(*l);
  return {};
}

}  // namespace

Result<ServeReport> RunServe(const ServeOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                             ServeProgress progress) {
  ServeLink sl;
  auto opened = o.link == LinkKind::kAfPacket ? OpenAfPacket(o, notify, sl) : OpenTun(o, notify, sl);
  if (!opened) return tl::unexpected(opened.error());
  link::PacketLink& wire_link = *sl.link;

  tcp::ServerConfig config;
  config.ip = o.ip;
  config.ports = o.ports;
  config.mode = o.mode;
  config.max_connections = o.max_connections;
  config.mss = sl.mss;
  tcp::ServerEngine engine(config, tcp::RandomSipKey(), tcp::RandomSipKey(), tcp::RandomSipKey().k0);
  if (o.reserve > 0) {
    if (auto r = engine.Reserve(o.reserve); !r) return tl::unexpected(r.error());
  }
  ServeReport report;
  report.link_kind = o.link;
  report.max_connections = o.max_connections;
  report.rss_base = sys::ResidentBytes().value_or(0);
  double cpu_start = CpuSeconds();
  uint64_t start = MonotonicNanos();
  auto fill = [&](uint64_t now) {
    report.stats = engine.stats();
    report.link = wire_link.stats();
    report.established = engine.established();
    report.peak_established = std::max(report.peak_established, report.established);
    report.table_capacity = engine.table().capacity();
    report.table_bytes = engine.table().bytes();
    report.rss_now = sys::ResidentBytes().value_or(0);
    report.seconds = double(now - start) / 1e9;
    report.cpu_seconds = CpuSeconds() - cpu_start;
  };
  LoopHooks hooks;
  hooks.input = [&](std::span<const uint8_t> p, uint64_t now, tcp::PacketSink& out) { engine.Input(p, now, out); };
  hooks.every_second = [&](uint64_t now) {
    fill(now);
    if (progress) progress(report);
  };
  hooks.done = [&](uint64_t now) { return o.duration_ns > 0 && now - start >= o.duration_ns; };
  auto r = RunLoop(wire_link, stop, hooks);
  fill(MonotonicNanos());
  if (!r) return tl::unexpected(r.error());
  return report;
}

}  // namespace tcpmax::userland

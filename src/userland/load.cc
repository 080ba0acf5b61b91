#include "userland/load.h"

#include <algorithm>

#include "core/clock.h"
#include "core/token_bucket.h"
#include "userland/engine_loop.h"
#include "userland/link/af_packet_link.h"
#include "userland/link/neighbor.h"
#include "userland/link/shared_interface.h"
#include "sys/nft.h"

#include <fmt/format.h>

namespace tcpmax::userland {

double LoadReport::HandshakesPerSecond() const {
  return handshake_seconds > 0 ? double(stats.established) / handshake_seconds : 0;
}

link::FirewallSpec LoadFirewallSpec(const LoadOptions& o) {
  link::FirewallSpec spec;
  spec.table = link::FirewallTableName();
  spec.local = o.source;
  spec.local_ports = {o.source_ports};
  spec.remote_ip = o.dst_ip;
  for (uint16_t p : o.dst_ports) spec.remote_ports.push_back(PortRange{p, p});
  return spec;
}

Result<void> CheckLoadInterface(const LoadOptions& o) {
  if (auto r = link::CheckInterfaceUp(o.interface); !r) return r;
  if (o.firewall) return sys::NftAvailable();
  return {};
}

namespace {

// What the client runs over; the link is destroyed first.
struct LoadLink {
  std::unique_ptr<link::NetnsSetup> ns;
  std::unique_ptr<link::Firewall> firewall;
  std::unique_ptr<link::PacketLink> link;
};

Result<void> SetUpLoadLink(link::NetnsSetup& ns, const LoadOptions& o) {
  // No IPv6 link-local address: the kernel would send router solicitations into the TUN.
  if (auto r = ns.Ip({"link", "set", o.tun, "addrgenmode", "none"}); !r) return r;
  if (auto r = ns.Ip({"link", "set", o.tun, "up", "txqueuelen", "65536"}); !r) return r;
  return ns.Ip({"route", "add", o.source.ToString(), "dev", o.tun});
}

tcp::ClientConfig ClientConfigOf(const LoadOptions& o) {
  tcp::ClientConfig c;
  c.src_base = o.source.base.v4();
  c.src_count = o.source.Size();
  c.sport_lo = o.source_ports.lo;
  c.sport_count = o.source_ports.Size();
  c.dst_ip = o.dst_ip;
  c.dst_ports = o.dst_ports;
  c.connections = o.connections;
  c.max_passes = o.max_passes;
  c.in_flight = o.in_flight;
  return c;
}

// Drives one ClientEngine through the phases: paced handshakes, verify, hold.
class LoadDriver {
 public:
  LoadDriver(const LoadOptions& o, const link::PacketLink& link)
      : o_(o), link_(link), engine_(ClientConfigOf(o), tcp::RandomSipKey()), pacer_(o.rate, std::max(64.0, o.rate / 100), MonotonicNanos()) {
    report_.connections = o.connections;
    report_.link_kind = o.link;
    report_.state_bytes = engine_.bitmap_bytes();
    cpu_start_ = CpuSeconds();
    start_ = last_established_ns_ = MonotonicNanos();
  }

  LoopHooks Hooks(const LoadProgress& progress) {
    LoopHooks h;
    h.idle_wait_ms = 1;
    h.input = [this](std::span<const uint8_t> p, uint64_t now, tcp::PacketSink& out) { Input(p, now, out); };
    h.tick = [this](uint64_t now, tcp::PacketSink& out) { return Tick(now, out); };
    h.done = [this](uint64_t now) {
      return report_.phase == LoadPhase::kDone || (o_.timeout_ns > 0 && now - start_ >= o_.timeout_ns);
    };
    h.every_second = [this, progress](uint64_t now) {
      Fill(now);
      if (progress) progress(report_);
    };
    return h;
  }

  void Fill(uint64_t now) {
    report_.stats = engine_.stats();
    report_.link = link_.stats();
    report_.verify_chosen = engine_.verify_chosen();
    report_.verify_lost = engine_.verify_lost();  // not yet answered while verifying
    report_.seconds = double(now - start_) / 1e9;
    report_.cpu_seconds = CpuSeconds() - cpu_start_;
    if (report_.phase == LoadPhase::kHandshakes) {
      report_.handshake_seconds = double(last_established_ns_ - start_) / 1e9;
    }
  }

  const LoadReport& report() const { return report_; }

 private:
  void Input(std::span<const uint8_t> p, uint64_t now, tcp::PacketSink& out) {
    engine_.Input(p, now, out);
    if (engine_.stats().established != seen_established_) {
      seen_established_ = engine_.stats().established;
      last_established_ns_ = now;
    }
  }

  uint64_t Tick(uint64_t now, tcp::PacketSink& out) {
    uint64_t sent = 0;
    if (report_.phase == LoadPhase::kHandshakes) {
      sent = engine_.SendSyns(pacer_.Available(now, 256), now, out);
      pacer_.Spend(sent);
      if (engine_.HandshakesDone(now)) {
        Fill(now);  // freezes handshake_seconds
        if (o_.verify > 0) {
          engine_.StartVerify(o_.verify, now);
          report_.phase = LoadPhase::kVerify;
        } else {
          AfterVerify(now);
        }
      }
    } else if (report_.phase == LoadPhase::kVerify) {
      sent = engine_.SendProbes(pacer_.Available(now, 256), now, out);
      pacer_.Spend(sent);
      if (engine_.VerifyDone(now)) AfterVerify(now);
    } else if (report_.phase == LoadPhase::kHold && now >= hold_end_) {
      report_.phase = LoadPhase::kDone;
    }
    return sent;
  }

  void AfterVerify(uint64_t now) {
    report_.phase = o_.hold_ns > 0 ? LoadPhase::kHold : LoadPhase::kDone;
    hold_end_ = now + o_.hold_ns;
  }

  const LoadOptions& o_;
  const link::PacketLink& link_;
  tcp::ClientEngine engine_;
  TokenBucket pacer_;  // SYNs and probes: `rate` per second, at most 10 ms worth banked
  LoadReport report_;
  double cpu_start_ = 0;
  uint64_t start_ = 0, last_established_ns_ = 0, hold_end_ = 0, seen_established_ = 0;
};

Result<void> OpenTun(const LoadOptions& o, const link::Notify& notify, LoadLink& out) {
  auto ns = link::NetnsSetup::Open(o.netns, o.netns_reuse, notify);
  if (!ns) return tl::unexpected(ns.error());
  out.ns = std::move(*ns);
  // Forwarding lets the SYNs reach a userland server's TUN in the same namespace.
  if (auto r = out.ns->SetSysctl("net.ipv4.ip_forward", "1"); !r) return tl::unexpected(r.error());
  auto tun = out.ns->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  out.link = std::move(*tun);
  return SetUpLoadLink(*out.ns, o);
}

Result<void> OpenAfPacket(const LoadOptions& o, const link::Notify& notify, LoadLink& out) {
  if (o.firewall) {
    auto fw = link::Firewall::Install(LoadFirewallSpec(o), notify);
    if (!fw) return tl::unexpected(fw.error());
    out.firewall = std::move(*fw);
  }
  auto mac = link::ResolveNextHop(o.interface, o.dst_ip);
  if (!mac) return tl::unexpected(mac.error());
  link::AfPacketConfig config;
  config.interface = o.interface;
  config.local = o.source;
  config.local_ports = {o.source_ports};
  auto l = link::AfPacketLink::Open(config);
  if (!l) return tl::unexpected(l.error());
  (*l)->SetNextHop(*mac);
  if (notify) {
    notify(fmt::format("af_packet on {} (MTU {}): sending from {} ports {}-{} to next hop {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                       o.interface, (*l)->mtu(), o.source.ToString(), o.source_ports.lo, o.source_ports.hi, (*mac)[0],
                       (*mac)[1], (*mac)[2], (*mac)[3], (*mac)[4], (*mac)[5]));
  }
  out.link = std::move(*l);
  return {};
}

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                           LoadProgress progress) {
  LoadLink ll;
  auto opened = o.link == LinkKind::kAfPacket ? OpenAfPacket(o, notify, ll) : OpenTun(o, notify, ll);
  if (!opened) return tl::unexpected(opened.error());
  LoadDriver driver(o, *ll.link);
  auto r = RunLoop(*ll.link, stop, driver.Hooks(progress));
  driver.Fill(MonotonicNanos());
  if (!r) return tl::unexpected(r.error());
  return driver.report();
}

}  // namespace tcpmax::userland

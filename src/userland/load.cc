#include "userland/load.h"

#include <unistd.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

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
  spec.remote_ip = o.target();
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
  std::vector<std::unique_ptr<link::PacketLink>> links;  // one per engine thread
};

Result<void> SetUpLoadLink(link::NetnsSetup& ns, const LoadOptions& o) {
  // No IPv6 link-local address: the kernel would send router solicitations into the TUN.
  if (auto r = ns.Ip({"link", "set", o.tun, "addrgenmode", "none"}); !r) return r;
  if (auto r = ns.Ip({"link", "set", o.tun, "up", "txqueuelen", "65536"}); !r) return r;
  return ns.Ip({"route", "add", o.source.ToString(), "dev", o.tun});
}

tcp::ClientConfig ClientConfigOf(const LoadOptions& o) {
  tcp::ClientConfig c;
  c.v6 = o.v6;
  if (o.v6) {
    wire::Ip6 base = ToIp6(o.source.base);
    c.src_prefix6 = base.Prefix96();
    c.src_base = base.Low32();
    c.dst_ip6 = o.dst_ip6;
    c.mss = 1440;
  } else {
    c.src_base = o.source.base.v4();
  }
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
    report_.v6 = o.v6;
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
  const char* forwarding = o.v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward";
  if (auto r = out.ns->SetSysctl(forwarding, "1"); !r) return tl::unexpected(r.error());
  auto tun = out.ns->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  out.links.push_back(std::move(*tun));
  return SetUpLoadLink(*out.ns, o);
}

Result<void> OpenAfPacket(const LoadOptions& o, const link::Notify& notify, LoadLink& out) {
  if (o.firewall) {
    auto fw = link::Firewall::Install(LoadFirewallSpec(o), notify);
    if (!fw) return tl::unexpected(fw.error());
    out.firewall = std::move(*fw);
  }
  auto mac = link::ResolveNextHop(o.interface, o.target());
  if (!mac) return tl::unexpected(mac.error());
  link::AfPacketConfig config;
  config.interface = o.interface;
  config.local = o.source;
  config.local_ports = {o.source_ports};
  if (o.threads > 1) {
    config.fanout = link::Fanout{uint16_t((::getpid() & 0x7fff) | 0x8000), link::FanoutByLocalRange(o.source, o.threads)};
  }
  uint32_t mtu = 0;
  for (uint32_t i = 0; i < o.threads; ++i) {
    auto l = link::AfPacketLink::Open(config);
    if (!l) return tl::unexpected(l.error());
    (*l)->SetNextHop(*mac);
    mtu = (*l)->mtu();
    out.links.push_back(std::move(*l));
  }
  if (notify) {
    notify(fmt::format("af_packet on {} (MTU {}): {} engine thread(s) sending from {} ports {}-{} to next hop "
                       "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                       o.interface, mtu, o.threads, o.source.ToString(), o.source_ports.lo, o.source_ports.hi, (*mac)[0],
                       (*mac)[1], (*mac)[2], (*mac)[3], (*mac)[4], (*mac)[5]));
  }
  return {};
}

// Shard i of `shards` (a power of two): the i-th equal part of the source
// range, and its share of the connections and of the verification.
LoadOptions ShardOf(const LoadOptions& o, uint32_t i, uint32_t shards) {
  LoadOptions s = o;
  int bits = 0;
  while ((1u << bits) < shards) ++bits;
  s.source = Cidr{o.source.At(o.source.Size() / shards * i), o.source.prefix + bits};
  s.connections = o.connections / shards + (i < o.connections % shards ? 1 : 0);
  s.verify = o.verify / shards + (i < o.verify % shards ? 1 : 0);
  s.rate = o.rate / shards;
  s.in_flight = std::max<uint32_t>(1, o.in_flight / shards);
  return s;
}

// One client engine thread: its options, driver, and the report it
// publishes once a second (and at the end) under its own lock.
struct LoadShard {
  LoadOptions options;
  link::PacketLink* link = nullptr;
  std::unique_ptr<LoadDriver> driver;
  std::mutex mu;
  LoadReport published;
  std::optional<Error> error;
  std::atomic<bool> finished{false};
};

void RunLoadShard(LoadShard& sh, std::atomic<bool>& halt) {
  auto r = RunLoop(*sh.link, halt, sh.driver->Hooks([&](const LoadReport& rep) {
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.published = rep;
  }));
  sh.driver->Fill(MonotonicNanos());
  {
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.published = sh.driver->report();
    if (!r) sh.error = r.error();
  }
  if (!r) halt = true;
  sh.finished = true;
}

// The shards' reports as one: counters summed, the slowest phase, the
// longest handshake time.
LoadReport Gather(std::vector<std::unique_ptr<LoadShard>>& shards, const LoadOptions& o) {
  LoadReport total;
  total.link_kind = o.link;
  total.v6 = o.v6;
  total.threads = uint32_t(shards.size());
  total.connections = o.connections;
  total.phase = LoadPhase::kDone;
  for (auto& sh : shards) {
    std::lock_guard<std::mutex> lock(sh->mu);
    const LoadReport& r = sh->published;
    total.stats += r.stats;
    total.link += r.link;
    total.phase = std::min(total.phase, r.phase);
    total.verify_chosen += r.verify_chosen;
    total.verify_lost += r.verify_lost;
    total.handshake_seconds = std::max(total.handshake_seconds, r.handshake_seconds);
    total.state_bytes += r.state_bytes;
  }
  return total;
}

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                           LoadProgress progress) {
  LoadLink ll;
  auto opened = o.link == LinkKind::kAfPacket ? OpenAfPacket(o, notify, ll) : OpenTun(o, notify, ll);
  if (!opened) return tl::unexpected(opened.error());
  uint32_t n = uint32_t(ll.links.size());
  std::vector<std::unique_ptr<LoadShard>> shards;
  for (uint32_t i = 0; i < n; ++i) {
    auto sh = std::make_unique<LoadShard>();
    sh->options = n == 1 ? o : ShardOf(o, i, n);
    sh->link = ll.links[i].get();
    sh->driver = std::make_unique<LoadDriver>(sh->options, *sh->link);
    sh->published = sh->driver->report();
    shards.push_back(std::move(sh));
  }
  double cpu_start = CpuSeconds();
  uint64_t start = MonotonicNanos();
  auto fill = [&] {
    LoadReport r = Gather(shards, o);
    r.seconds = double(MonotonicNanos() - start) / 1e9;
    r.cpu_seconds = CpuSeconds() - cpu_start;
    return r;
  };
  std::atomic<bool> halt{false};
  std::vector<std::thread> threads;
  for (auto& sh : shards) threads.emplace_back(RunLoadShard, std::ref(*sh), std::ref(halt));
  uint64_t next_report = start + 1'000'000'000ull;
  auto all_finished = [&] {
    return std::all_of(shards.begin(), shards.end(), [](const auto& sh) { return sh->finished.load(); });
  };
  while (!all_finished()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (stop.load()) halt = true;
    if (MonotonicNanos() >= next_report) {
      if (progress) progress(fill());
      next_report = MonotonicNanos() + 1'000'000'000ull;
    }
  }
  for (auto& t : threads) t.join();
  for (auto& sh : shards) {
    if (sh->error) return tl::unexpected(*sh->error);
  }
  return fill();
}

}  // namespace tcpmax::userland

#include "userland/load.h"

#include <algorithm>

#include "core/clock.h"
#include "userland/engine_loop.h"

namespace tcpmax::userland {

double LoadReport::HandshakesPerSecond() const {
  return handshake_seconds > 0 ? double(stats.established) / handshake_seconds : 0;
}

namespace {

// Token bucket: `rate` tokens per second, at most 10 ms worth banked.
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate) {}
  uint64_t Budget(uint64_t now) {
    if (last_ == 0) last_ = now;
    tokens_ = std::min(tokens_ + rate_ * double(now - last_) / 1e9, std::max(64.0, rate_ / 100));
    last_ = now;
    return uint64_t(std::min(tokens_, 256.0));
  }
  void Spend(uint64_t n) { tokens_ -= double(n); }

 private:
  double rate_;
  double tokens_ = 0;
  uint64_t last_ = 0;
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

}  // namespace

Result<LoadReport> RunLoad(const LoadOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                           LoadProgress progress) {
  auto ns = link::NetnsSetup::Open(o.netns, notify);
  if (!ns) return tl::unexpected(ns.error());
  // Forwarding lets the SYNs reach a userland server's TUN in the same namespace.
  if (auto r = (*ns)->SetSysctl("net/ipv4/ip_forward", "1"); !r) return tl::unexpected(r.error());
  auto tun = (*ns)->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  if (auto r = SetUpLoadLink(**ns, o); !r) return tl::unexpected(r.error());

  tcp::ClientEngine engine(ClientConfigOf(o), tcp::RandomSipKey());
  LoadReport report;
  report.connections = o.connections;
  report.state_bytes = engine.bitmap_bytes();
  Pacer pacer(o.rate);
  double cpu_start = CpuSeconds();
  uint64_t start = MonotonicNanos(), last_established_ns = start, hold_end = 0;
  uint64_t seen_established = 0;
  auto fill = [&](uint64_t now) {
    report.stats = engine.stats();
    report.link = (*tun)->stats();
    report.verify_chosen = engine.verify_chosen();
    report.verify_lost = engine.verify_lost();  // not yet answered while verifying
    report.seconds = double(now - start) / 1e9;
    report.cpu_seconds = CpuSeconds() - cpu_start;
    if (report.phase == LoadPhase::kHandshakes) report.handshake_seconds = double(last_established_ns - start) / 1e9;
  };
  auto after_verify = [&](uint64_t now) {
    if (o.hold_ns > 0) {
      report.phase = LoadPhase::kHold;
      hold_end = now + o.hold_ns;
    } else {
      report.phase = LoadPhase::kDone;
    }
  };
  LoopHooks hooks;
  hooks.idle_wait_ms = 1;
  hooks.input = [&](std::span<const uint8_t> p, uint64_t now, tcp::PacketSink& out) {
    engine.Input(p, now, out);
    if (engine.stats().established != seen_established) {
      seen_established = engine.stats().established;
      last_established_ns = now;
    }
  };
  hooks.tick = [&](uint64_t now, tcp::PacketSink& out) -> uint64_t {
    uint64_t sent = 0;
    if (report.phase == LoadPhase::kHandshakes) {
      sent = engine.SendSyns(pacer.Budget(now), now, out);
      pacer.Spend(sent);
      if (engine.HandshakesDone(now)) {
        fill(now);
        if (o.verify > 0) {
          engine.StartVerify(o.verify, now);
          report.phase = LoadPhase::kVerify;
        } else {
          after_verify(now);
        }
      }
    } else if (report.phase == LoadPhase::kVerify) {
      sent = engine.SendProbes(pacer.Budget(now), now, out);
      pacer.Spend(sent);
      if (engine.VerifyDone(now)) after_verify(now);
    } else if (report.phase == LoadPhase::kHold && now >= hold_end) {
      report.phase = LoadPhase::kDone;
    }
    return sent;
  };
  hooks.done = [&](uint64_t now) {
    return report.phase == LoadPhase::kDone || (o.timeout_ns > 0 && now - start >= o.timeout_ns);
  };
  hooks.every_second = [&](uint64_t now) {
    fill(now);
    if (progress) progress(report);
  };
  auto r = RunLoop(**tun, stop, hooks);
  fill(MonotonicNanos());
  if (!r) return tl::unexpected(r.error());
  return report;
}

}  // namespace tcpmax::userland

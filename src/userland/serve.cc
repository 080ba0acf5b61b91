#include "userland/serve.h"

#include "sys/process.h"

#include "core/address.h"
#include "core/clock.h"
#include "userland/engine_loop.h"

namespace tcpmax::userland {

double ServeReport::RssBytesPerConnection() const {
  if (established == 0 || rss_now < rss_base) return 0;
  return double(rss_now - rss_base) / double(established);
}

namespace {

Result<void> SetUpServeLink(link::NetnsSetup& ns, const ServeOptions& o) {
  std::string kernel_addr = IpAddress::V4(kKernelClientAddr).ToString();
  // No IPv6 link-local address: the kernel would send router solicitations into the TUN.
  if (auto r = ns.Ip({"link", "set", o.tun, "addrgenmode", "none"}); !r) return r;
  if (auto r = ns.Ip({"link", "set", o.tun, "up", "txqueuelen", "65536"}); !r) return r;
  if (auto r = ns.Ip({"addr", "add", kernel_addr + "/32", "dev", o.tun}); !r) return r;
  return ns.Ip({"route", "add", o.route, "dev", o.tun, "src", kernel_addr});
}

}  // namespace

Result<ServeReport> RunServe(const ServeOptions& o, link::Notify notify, const std::atomic<bool>& stop,
                             ServeProgress progress) {
  auto ns = link::NetnsSetup::Open(o.netns, o.netns_reuse, notify);
  if (!ns) return tl::unexpected(ns.error());
  auto tun = (*ns)->CreateTun(o.tun);
  if (!tun) return tl::unexpected(tun.error());
  if (auto r = SetUpServeLink(**ns, o); !r) return tl::unexpected(r.error());

  tcp::ServerConfig config;
  config.ip = o.ip;
  config.ports = o.ports;
  config.mode = o.mode;
  config.max_connections = o.max_connections;
  tcp::ServerEngine engine(config, tcp::RandomSipKey(), tcp::RandomSipKey(), tcp::RandomSipKey().k0);
  if (o.reserve > 0) {
    if (auto r = engine.Reserve(o.reserve); !r) return tl::unexpected(r.error());
  }
  ServeReport report;
  report.max_connections = o.max_connections;
  report.rss_base = sys::ResidentBytes().value_or(0);
  double cpu_start = CpuSeconds();
  uint64_t start = MonotonicNanos();
  auto fill = [&](uint64_t now) {
    report.stats = engine.stats();
    report.link = (*tun)->stats();
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
  auto r = RunLoop(**tun, stop, hooks);
  fill(MonotonicNanos());
  if (!r) return tl::unexpected(r.error());
  return report;
}

}  // namespace tcpmax::userland

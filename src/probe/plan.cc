#include "probe/plan.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::probe {
namespace {

constexpr uint32_t kMaxPorts = 16;        // server ports: enough spread, few listeners
constexpr uint64_t kFdMargin = 100;       // descriptors each process keeps for itself
constexpr uint32_t kMaxSources = 1u << 16; // 127.1.0.0/16 at most

uint64_t CeilDiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

std::string Plan::ListenSpec(unsigned group) const {
  uint32_t per = ports / serve_processes;
  uint32_t lo = first_port + group * per;
  if (per == 1) return fmt::format("{}:{}", server_ip.ToString(), lo);
  return fmt::format("{}:{}-{}", server_ip.ToString(), lo, lo + per - 1);
}

std::string Plan::TargetSpec() const {
  if (ports == 1) return fmt::format("{}:{}", server_ip.ToString(), first_port);
  return fmt::format("{}:{}-{}", server_ip.ToString(), first_port, first_port + ports - 1);
}

std::string Plan::SourceSpec() const { return source_range.ToString(); }

std::vector<Endpoint> Plan::ListenEndpoints(unsigned group) const {
  uint32_t per = ports / serve_processes;
  std::vector<Endpoint> out;
  for (uint32_t p = first_port + group * per; p < first_port + (group + 1) * per; ++p) {
    out.push_back(Endpoint{server_ip, static_cast<uint16_t>(p)});
  }
  return out;
}

std::vector<Endpoint> Plan::Targets() const {
  std::vector<Endpoint> out;
  for (uint32_t p = first_port; p < uint32_t{first_port} + ports; ++p) {
    out.push_back(Endpoint{server_ip, static_cast<uint16_t>(p)});
  }
  return out;
}

namespace {

// Ports and sources so that no (source, destination) pair carries more than
// the pair cap; returns the cap.
Result<uint64_t> PlanPairs(const PlanInput& in, Plan& p) {
  // Each (source, destination) pair draws its ports from the ephemeral range.
  uint64_t pair_cap = std::min<uint64_t>(in.pair_max, in.ephemeral_ports * 9 / 10);
  if (pair_cap == 0) return PlainError("the ephemeral port range is empty (net.ipv4.ip_local_port_range)");
  uint64_t pairs = CeilDiv(in.target, pair_cap);
  p.ports = static_cast<uint32_t>(std::min<uint64_t>(pairs, kMaxPorts));
  uint64_t sources = CeilDiv(pairs, p.ports);
  if (sources > kMaxSources) {
    return PlainError(fmt::format("{} connections need {} source addresses; probe plans at most {}",
                                  FormatCount(in.target), sources, kMaxSources));
  }
  // Round the sources up to a CIDR block: load uses every address in it.
  uint32_t block = std::bit_ceil(static_cast<uint32_t>(sources));
  p.sources = block;
  p.source_range = Cidr{IpAddress::V4(0x7f010000), 32 - std::countr_zero(block)};  // 127.1.0.0/n
  p.per_pair = CeilDiv(in.target, uint64_t{p.ports} * p.sources);
  return pair_cap;
}

// Engines and processes of both sides, so no process needs more descriptors
// than `usable`.
Result<void> PlanProcesses(const PlanInput& in, uint64_t usable, Plan& p) {
  // auto means epoll shards below kUringAutoTarget, io_uring above it (where
  // direct descriptors work). Wave 1 found one io_uring serve process accepting
  // far slower than the load connected (577k of 2.28M in 170 s) while it armed
  // a recv on every held socket; unwatched holds arm nothing.
  bool uring = in.engine == Engine::kUring ||
               (in.engine == Engine::kAuto && in.uring_direct && in.target >= kUringAutoTarget);
  if (uring && !in.uring_direct) {
    return PlainError("--engine uring: io_uring direct descriptors do not work on this box (see tcpmax serve --engine uring)");
  }
  p.serve_engine = uring ? Engine::kUring : Engine::kEpoll;
  p.load_engine = p.serve_engine;
  if (uring) {
    p.serve_processes = 1;
    p.notes.push_back(fmt::format(
        "serve: one process with io_uring direct descriptors (about {} rings of at most {} connections; "
        "direct descriptors do not count against RLIMIT_NOFILE)",
        CeilDiv(in.target, usable), FormatCount(usable)));
  } else {
    // One epoll process per group of ports, so each process's share is fixed
    // by the ports it owns (load spreads evenly over ports), never by hashing.
    p.serve_processes = static_cast<unsigned>(CeilDiv(in.target, usable));
    if (p.serve_processes > 1) {
      p.ports = static_cast<uint32_t>(CeilDiv(std::max<uint64_t>(p.ports, p.serve_processes), p.serve_processes) *
                                      p.serve_processes);
      p.per_pair = CeilDiv(in.target, uint64_t{p.ports} * p.sources);
    }
    p.notes.push_back(fmt::format("serve: {} epoll process(es), each owning {} port(s): at most {} descriptors each "
                                  "(hard RLIMIT_NOFILE {})",
                                  p.serve_processes, p.ports / p.serve_processes,
                                  FormatCount(CeilDiv(in.target, p.serve_processes)), FormatCount(in.nofile_hard)));
  }
  p.load_processes = uring ? 1 : static_cast<unsigned>(CeilDiv(in.target, usable));
  p.notes.push_back(fmt::format("load: {} {} process(es), at most {} descriptors each", p.load_processes,
                                EngineName(p.load_engine), FormatCount(CeilDiv(in.target, p.load_processes))));
  unsigned most = std::max(p.serve_processes, p.load_processes);
  if (most > kMaxShardProcesses) {
    return PlainError(fmt::format("{} connections need {} processes per side at {} descriptors each (hard "
                                  "RLIMIT_NOFILE {}); the probe runs at most {} (use --engine uring, or raise the hard "
                                  "limit)",
                                  FormatCount(in.target), most, FormatCount(usable), FormatCount(in.nofile_hard),
                                  kMaxShardProcesses));
  }
  return {};
}

}  // namespace

Result<Plan> MakePlan(const PlanInput& in) {
  if (in.target == 0) return PlainError("the target must be at least 1 connection");
  if (in.nofile_hard <= kFdMargin) {
    return PlainError(fmt::format("the hard RLIMIT_NOFILE ({}) leaves no descriptors for connections", in.nofile_hard));
  }
  Plan p;
  p.target = in.target;
  p.server_ip = IpAddress::V4(0x7f000001);  // 127.0.0.1
  p.first_port = in.first_port;
  auto pair_cap = PlanPairs(in, p);
  if (!pair_cap) return tl::unexpected(pair_cap.error());
  uint64_t usable = in.nofile_hard - kFdMargin;
  if (auto r = PlanProcesses(in, usable, p); !r) return tl::unexpected(r.error());
  p.notes.insert(p.notes.begin(),
                 fmt::format("{} server ports x {} source addresses = {} pairs, at most {} connections each "
                             "(kept under {} so connect()'s port search stays fast)",
                             p.ports, p.sources, uint64_t{p.ports} * p.sources, FormatCount(p.per_pair),
                             FormatCount(*pair_cap)));
  if (uint32_t{p.first_port} + p.ports - 1 > 65535) {
    return PlainError(fmt::format("{} server ports from {} run past port 65535", p.ports, p.first_port));
  }
  uint64_t serve_fds = p.serve_engine == Engine::kUring ? 0 : CeilDiv(in.target, p.serve_processes);
  uint64_t load_fds = p.load_engine == Engine::kUring ? 0 : CeilDiv(in.target, p.load_processes);
  p.per_process_fds = std::max(serve_fds, load_fds);
  return p;
}

}  // namespace tcpmax::probe

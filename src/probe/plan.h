// Plan: how `tcpmax probe` lays out a climb to `target` connections on
// loopback so that no per-process or per-4-tuple limit stops it early.
//
// A loopback connection is two sockets: the server's (accepted) and the
// client's. The planner decides
//   - the server ports (destinations) and client source addresses so that no
//     (source, destination) pair carries more than `pair_max` connections
//     (the kernel's port search slows past ~14,000 per pair, and a pair can
//     never exceed the ephemeral range);
//   - the engines and process counts of the serve and load sides so that no
//     process needs more descriptors than its hard RLIMIT_NOFILE;
//   - the endpoints each serve shard listens on and the targets and sources
//     of the load shards.
// Pure: PlanInput in, Plan out. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/engine.h"
#include "core/error.h"

namespace tcpmax::probe {

// Processes per side: beyond this the plan refuses (use io_uring direct
// descriptors, or raise the hard RLIMIT_NOFILE).
inline constexpr unsigned kMaxShardProcesses = 512;
// From this target up, auto picks io_uring direct descriptors (one process
// per side) where they work: measured here with unwatched holds, 2,900,992
// held on 2 processes against 2,612,536 on 362 epoll shards (each shard's
// own ~2 MiB, and 362 processes on 2 cores), bench/RESULTS.md issue 14.
inline constexpr uint64_t kUringAutoTarget = 1'000'000;

struct PlanInput {
  uint64_t target = 100'000;          // connections to open and hold
  uint64_t nofile_hard = 1024;        // hard RLIMIT_NOFILE per process
  uint32_t ephemeral_ports = 28232;   // usable ports in ip_local_port_range
  bool uring_direct = false;          // io_uring direct descriptors work here
  Engine engine = Engine::kAuto;      // auto: uring from kUringAutoTarget when uring_direct, else epoll shards
  unsigned cores = 1;
  uint64_t pair_max = 10'000;         // connections per (source, destination)
  uint16_t first_port = 7000;         // server ports start here
  double rate = 0;                    // connections/s for load; 0 = as fast as it goes
};

struct Plan {
  uint64_t target = 0;
  // Destinations: server_ip:first_port .. first_port + ports - 1.
  IpAddress server_ip;
  uint16_t first_port = 0;
  uint32_t ports = 1;                 // a multiple of serve_processes
  // Sources: the first `sources` addresses of source_base (127.1.0.0/16...).
  Cidr source_range;
  uint32_t sources = 1;
  uint64_t per_pair = 0;              // most connections any (source, destination) pair carries
  Engine serve_engine = Engine::kEpoll;
  Engine load_engine = Engine::kEpoll;
  unsigned serve_processes = 1;
  unsigned load_processes = 1;
  uint64_t per_process_fds = 0;       // the most descriptors any one process needs
  std::vector<std::string> notes;     // why each choice was made, for the report

  // The ports serve process `group` listens on: "127.0.0.1:7000-7003".
  std::string ListenSpec(unsigned group) const;
  // Every destination, for load: "127.0.0.1:7000-7015".
  std::string TargetSpec() const;
  std::string SourceSpec() const;     // "127.1.0.0/27" (a CIDR covering `sources`)
  // The same as endpoints, for the engines.
  std::vector<Endpoint> ListenEndpoints(unsigned group) const;
  std::vector<Endpoint> Targets() const;
};

// Fails, before anything starts, when the target cannot be planned on
// loopback: a target of 0, more connections than the loopback tuple space
// holds, or more than kMaxShardProcesses processes on a side.
Result<Plan> MakePlan(const PlanInput& in);

}  // namespace tcpmax::probe

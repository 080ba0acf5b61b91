// RunLoad: `tcpmax userland load` below the CLI. Over TUN (default) it sets
// up the namespace and a TUN of its own, routes the source range into it (and
// turns on forwarding in the namespace, so a userland server's TUN there is
// reached through the kernel). Over AF_PACKET (--link af_packet) it sends
// from an existing interface in the namespace it runs in, with the firewall
// recipe for its source range and ports, to the next hop the kernel resolves
// for the target (link/neighbor.h); with --threads, one engine per thread,
// each owning an equal part of the source range (and so of the tuples), its
// own packet socket in a fanout group that gives it the answers for its
// part. Then it drives the stateless client engine: paced SYNs,
// resends, an optional verification of K random connections, an optional
// hold. IPv6 (an IPv6 target): the source range is a /96 or narrower inside
// 2001:db8::/32; over TUN it is routed into the TUN, with IPv6 forwarding on
// in the namespace; over AF_PACKET the next hop is found by the kernel's
// neighbour discovery. Undoes every change on return.
// Thread-safety: runs on the calling thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"
#include "userland/link/firewall.h"
#include "userland/link/netns_setup.h"
#include "userland/link/packet_link.h"
#include "userland/serve.h"
#include "userland/tcp/client.h"

namespace tcpmax::userland {

struct LoadOptions {
  LinkKind link = LinkKind::kTun;
  std::string interface;             // af_packet: the interface to send from
  bool firewall = true;              // af_packet: install the recipe (false: the operator did)
  uint32_t threads = 1;              // af_packet: engine threads (a power of two; each a part of --source)
  uint32_t dst_ip = 0xc6120001;
  bool v6 = false;                   // IPv6 target dst_ip6 (and an IPv6 --source)
  wire::Ip6 dst_ip6;
  IpAddress target() const { return v6 ? FromIp6(dst_ip6) : IpAddress::V4(dst_ip); }
  std::vector<uint16_t> dst_ports = {80};
  Cidr source;                       // REQUIRES IPv4 inside 198.18.0.0/15, or (v6) a /96 or narrower inside 2001:db8::/32
  PortRange source_ports{1024, 65535};
  uint64_t connections = 0;
  double rate = 200000;              // SYNs per second (first sends and resends)
  uint32_t max_passes = 6;
  uint32_t in_flight = 2048;         // unanswered SYNs/probes at most
  uint64_t verify = 0;               // K random connections to probe
  uint64_t hold_ns = 0;              // keep the link up this long after the handshakes
  uint64_t timeout_ns = 0;           // 0: no overall limit beyond the passes
  std::string netns = "tcpmax-ul";    // created by the run; refused if it exists
  bool netns_reuse = false;           // use an existing netns (never the host's)
  std::string tun = "tmxl0";
};

enum class LoadPhase { kHandshakes, kVerify, kHold, kDone };

struct LoadReport {
  LinkKind link_kind = LinkKind::kTun;
  bool v6 = false;
  uint32_t threads = 1;              // engines, each its part of the source range (summed here)
  tcp::ClientStats stats;
  link::LinkStats link;
  LoadPhase phase = LoadPhase::kHandshakes;
  uint64_t connections = 0;
  uint64_t verify_chosen = 0;
  uint64_t verify_lost = 0;
  double handshake_seconds = 0;      // first SYN to the last established
  double cpu_seconds = 0;             // user + system CPU of this process
  double seconds = 0;
  uint64_t state_bytes = 0;          // client bitmaps
  double HandshakesPerSecond() const;
};

// af_packet: the firewall recipe for these options (table of this process).
link::FirewallSpec LoadFirewallSpec(const LoadOptions& options);
// af_packet: the interface is up, and nft is there when the recipe is to be installed.
Result<void> CheckLoadInterface(const LoadOptions& options);

using LoadProgress = std::function<void(const LoadReport&)>;

Result<LoadReport> RunLoad(const LoadOptions& options, link::Notify notify, const std::atomic<bool>& stop,
                           LoadProgress progress);

}  // namespace tcpmax::userland

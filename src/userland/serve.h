// RunServe: `tcpmax userland serve` below the CLI, over one of two links:
//   - TUN (default): sets up the namespace and TUN (link/netns_setup.h),
//     routes the benchmark range into the TUN, gives kernel clients in the
//     namespace a source address of their own (kKernelClientAddr, on the
//     TUN, so the kernel never owns an engine address);
//   - AF_PACKET on an existing interface whose address the kernel owns, in
//     the namespace tcpmax runs in: installs the firewall recipe
//     (link/firewall.h) unless told the operator manages it, then opens the
//     packet socket (link/af_packet_link.h). CheckServeInterface() is the
//     preflight the CLI runs first (bad input: exit 2).
// IPv6 (an IPv6 --listen address): over TUN the namespace routes
// 2001:db8::/32 (or --route) into the TUN, and kernel clients there get
// 2001:db8::fffe; over AF_PACKET the packet socket takes ETH_P_IPV6 through
// an IPv6 filter, the recipe's rules match ip6, and the kernel, owning the
// address, answers neighbour discovery for it.
// One engine per thread (af_packet --threads: a packet socket each in a
// fanout group, the connection table sharded by the peer's address and
// port, nothing shared between engines; counters published once a second and
// summed by the calling thread, which also reports progress).
// It runs the server engine(s) until stopped or the duration ends, and undoes
// every change on return.
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
#include "userland/tcp/server.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland {

inline constexpr uint32_t kBenchRangeBase = 0xc6120000;  // 198.18.0.0/15 (RFC 2544)
inline constexpr uint32_t kKernelClientAddr = 0xc612fffe;  // 198.18.255.254
inline bool InBenchRange(uint32_t ip) { return (ip & 0xfffe0000u) == kBenchRangeBase; }
// IPv6: the engines' addresses lie in 2001:db8::/32 (RFC 3849, documentation:
// never routed on the Internet), used only inside namespaces tcpmax makes.
inline constexpr wire::Ip6 kBenchRange6{0x20010db800000000ull, 0};
inline constexpr wire::Ip6 kKernelClientAddr6{0x20010db800000000ull, 0xfffe};  // 2001:db8::fffe
inline bool InBenchRange6(const wire::Ip6& ip) { return (ip.hi >> 32) == (kBenchRange6.hi >> 32); }
inline constexpr const char* kDefaultRoute6 = "2001:db8::/32";
// The core address as the wire's IPv6 type (REQUIRES ip.is_v6()), and back.
inline wire::Ip6 ToIp6(const IpAddress& ip) { return wire::Ip6FromBytes(ip.bytes.data()); }
inline IpAddress FromIp6(const wire::Ip6& a) {
  IpAddress ip;
  ip.family = AF_INET6;
  wire::Ip6ToBytes(a, ip.bytes.data());
  return ip;
}

enum class LinkKind { kTun, kAfPacket };
std::string_view LinkKindName(LinkKind k);  // "tun", "af_packet"

struct ServeOptions {
  LinkKind link = LinkKind::kTun;
  std::string interface;               // af_packet: the shared interface
  bool firewall = true;                // af_packet: install the recipe (false: the operator did)
  uint32_t threads = 1;                // af_packet: engine threads (fanout by peer; a table each)
  uint32_t ip = 0xc6120001;            // 198.18.0.1
  bool v6 = false;                     // serve the IPv6 address ip6 instead of ip
  wire::Ip6 ip6;
  IpAddress address() const { return v6 ? FromIp6(ip6) : IpAddress::V4(ip); }
  std::vector<uint16_t> ports = {80};
  tcp::ServeMode mode = tcp::ServeMode::kHold;
  std::string netns = "tcpmax-ul";    // created by the run; refused if it exists
  bool netns_reuse = false;           // use an existing netns (never the host's)
  std::string tun = "tmxs0";
  std::string route = "198.18.0.0/15";  // IPv6: a range inside 2001:db8::/32
  uint64_t reserve = 0;                // connections to size the table for (its pages faulted in up front)
  uint64_t max_connections = 0;        // table cap (0: none); past it final ACKs are reset
  uint64_t duration_ns = 0;            // 0: until stopped
};

struct ServeReport {
  LinkKind link_kind = LinkKind::kTun;
  bool v6 = false;                    // the engine's family
  uint32_t threads = 1;               // engines, each with its own link and table (summed here)
  uint32_t peer_prefixes = 0;         // IPv6: distinct /96 prefixes of peers stored (summed over engines)
  tcp::ServerStats stats;
  link::LinkStats link;
  uint64_t established = 0;
  uint64_t peak_established = 0;
  uint64_t table_capacity = 0;
  uint64_t max_connections = 0;       // the cap in force (0: none)
  uint64_t table_bytes = 0;
  uint64_t rss_base = 0;               // after set-up, before the table is reserved or any connection
  double prefault_seconds = 0;         // --reserve: faulting in the table's pages, before serving
  uint64_t rss_now = 0;
  double cpu_seconds = 0;             // user + system CPU of this process
  double seconds = 0;
  // (rss_now - rss_base) / established, 0 when none.
  double RssBytesPerConnection() const;
};

// af_packet: the firewall recipe for these options (table of this process).
link::FirewallSpec ServeFirewallSpec(const ServeOptions& options);
// af_packet: the interface and port checks, and nft when the recipe is to
// be installed (link/shared_interface.h). Changes nothing.
Result<void> CheckServeInterface(const ServeOptions& options);

using ServeProgress = std::function<void(const ServeReport&)>;

Result<ServeReport> RunServe(const ServeOptions& options, link::Notify notify, const std::atomic<bool>& stop,
                             ServeProgress progress);

}  // namespace tcpmax::userland

// What to count (Query) and what was counted (Counts): the data model of
// `tcpmax count` and of diag::Count, which `probe` calls every second.
//
// Filter semantics (identical for the netlink and /proc sources, and equal to
// what the kernel's inet_diag bytecode does):
//   - a socket matches when its state is in `states`, its family is enabled,
//     and every non-empty list below has at least one entry that matches;
//   - lports/rports: the local/remote port lies in one of the ranges;
//   - src/dst: the local/remote address lies in one of the CIDRs. An IPv4
//     CIDR also matches IPv6 sockets whose address is IPv4-mapped
//     (::ffff:a.b.c.d); an IPv6 CIDR matches only IPv6 sockets.
// A port list that covers 1-65535 is treated as "any port".
// Plain values; thread-safe to copy.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "diag/tcp_state.h"

namespace tcpmax::diag {

enum class SourceKind { kAuto, kNetlink, kProc };
enum class AggregateBy { kNone, kLocalPort, kRemotePort, kLocalAddr, kRemoteAddr, kState };

// Every source and every aggregation key a user can name (kNone is the absence of --by).
inline constexpr SourceKind kSourceKinds[] = {SourceKind::kAuto, SourceKind::kNetlink, SourceKind::kProc};
inline constexpr AggregateBy kAggregateKeys[] = {AggregateBy::kLocalPort, AggregateBy::kRemotePort,
                                                 AggregateBy::kLocalAddr, AggregateBy::kRemoteAddr, AggregateBy::kState};

std::string_view SourceName(SourceKind kind);      // "auto", "netlink", "proc"
std::string_view AggregateName(AggregateBy by);    // "none", "lport", "rport", "laddr", "raddr", "state"
// The inverses of SourceName and AggregateName; nullopt for any other text.
std::optional<SourceKind> ParseSourceKind(std::string_view name);
std::optional<AggregateBy> ParseAggregateBy(std::string_view name);

struct Query {
  uint32_t states = kAllStates;      // bit (1 << TcpState)
  bool ipv4 = true;
  bool ipv6 = true;
  std::vector<PortRange> lports;     // empty: any local port
  std::vector<PortRange> rports;     // empty: any remote port
  std::vector<Cidr> src;             // empty: any local address
  std::vector<Cidr> dst;             // empty: any remote address
  AggregateBy by = AggregateBy::kNone;
  size_t top = 10;                   // groups kept when aggregating; 0 keeps all
  SourceKind source = SourceKind::kAuto;  // kAuto: netlink, /proc when netlink is refused
  std::string netns;                 // named namespace to count in; empty: the caller's
  std::string record_path;           // non-empty: append raw netlink answers here (tests/data/netlink format)
};

// One aggregation bucket. Only the field named by Query::by is meaningful.
struct GroupKey {
  uint16_t port = 0;
  IpAddress ip;
  uint8_t state = 0;
  std::string ToString(AggregateBy by) const;  // "8080", "127.0.0.1", "established"
};

struct Group {
  GroupKey key;
  uint64_t count = 0;
};

struct Counts {
  std::array<uint64_t, kMaxTcpState + 1> states{};  // by TcpState; kNewSynRecv folded into kSynRecv
  uint64_t total = 0;
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
  AggregateBy by = AggregateBy::kNone;
  std::vector<Group> groups;         // largest first (ties: smaller key first), at most Query::top
  uint64_t distinct_groups = 0;      // groups before the top-N cut
  SourceKind source = SourceKind::kNetlink;  // what actually answered
  std::string fallback_reason;       // why /proc was used instead of netlink (empty otherwise)
  bool single_walk = false;          // netlink: both families in one kernel walk (compat request)
  int attempts = 1;                  // dumps run (more than 1 after an interrupted dump)
  bool interrupted = false;          // the kernel flagged the last dump inconsistent (NLM_F_DUMP_INTR)
};

}  // namespace tcpmax::diag

#include "diag/query.h"

#include <fmt/format.h>

namespace tcpmax::diag {

std::string_view SourceName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kAuto: return "auto";
    case SourceKind::kNetlink: return "netlink";
    case SourceKind::kProc: return "proc";
  }
  return "?";
}

std::string_view AggregateName(AggregateBy by) {
  switch (by) {
    case AggregateBy::kNone: return "none";
    case AggregateBy::kLocalPort: return "lport";
    case AggregateBy::kRemotePort: return "rport";
    case AggregateBy::kLocalAddr: return "laddr";
    case AggregateBy::kRemoteAddr: return "raddr";
    case AggregateBy::kState: return "state";
  }
  return "?";
}

std::optional<SourceKind> ParseSourceKind(std::string_view name) {
  for (SourceKind k : {SourceKind::kAuto, SourceKind::kNetlink, SourceKind::kProc}) {
    if (SourceName(k) == name) return k;
  }
  return std::nullopt;
}

std::optional<AggregateBy> ParseAggregateBy(std::string_view name) {
  for (AggregateBy b : {AggregateBy::kNone, AggregateBy::kLocalPort, AggregateBy::kRemotePort,
                        AggregateBy::kLocalAddr, AggregateBy::kRemoteAddr, AggregateBy::kState}) {
    if (AggregateName(b) == name) return b;
  }
  return std::nullopt;
}

std::string GroupKey::ToString(AggregateBy by) const {
  switch (by) {
    case AggregateBy::kLocalPort:
    case AggregateBy::kRemotePort: return fmt::format("{}", port);
    case AggregateBy::kLocalAddr:
    case AggregateBy::kRemoteAddr: return ip.ToString();
    case AggregateBy::kState: return std::string(TcpStateName(state));
    case AggregateBy::kNone: break;
  }
  return "";
}

}  // namespace tcpmax::diag

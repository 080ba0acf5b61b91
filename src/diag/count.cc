#include "diag/count.h"

#include <cerrno>

#include <fmt/format.h>

#include "diag/bytecode.h"
#include "diag/filter.h"
#include "diag/netlink_dump.h"
#include "diag/proc_net_tcp.h"
#include "diag/tally.h"
#include "sys/netns.h"

namespace tcpmax::diag {
namespace {

uint32_t KernelStates(uint32_t states) {
  states &= kAllStates;
  if (states & StateBit(kSynRecv)) states |= StateBit(kNewSynRecv);
  return states;
}

Result<Counts> CountRetrying(const Query& q, const SourceOpener& open) {
  Result<Counts> last = PlainError("no netlink attempt made");
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    auto opened = open();
    if (!opened) return tl::unexpected(opened.error());
    std::unique_ptr<DumpSource> source = std::move(*opened);
    if (!q.record_path.empty()) {
      auto rec = RecordingSource::Create(std::move(source), q.record_path);
      if (!rec) return tl::unexpected(rec.error());
      source = std::move(*rec);
    }
    last = CountNetlink(q, *source);
    if (last) last->attempts = attempt;
    bool retry = last ? last->interrupted : last.error().code == ENOBUFS;
    if (!retry) break;
  }
  return last;
}

// A single port (not 0, which the kernel reads as "any") goes in the
// request's socket id instead of the bytecode.
uint16_t SinglePort(const std::vector<PortRange>& ranges) {
  std::vector<PortRange> r = NormalizePorts(ranges);
  return r.size() == 1 && r[0].lo == r[0].hi ? r[0].lo : 0;
}

bool CompatRefused(const Error& e) {
  return e.code == EINVAL || e.code == ENOENT || e.code == EOPNOTSUPP || e.code == EPROTONOSUPPORT;
}

}  // namespace

bool NetlinkRefused(const Error& e) {
  switch (e.code) {
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
    case EACCES:
    case EPERM:
    case ENOENT:
    case EOPNOTSUPP:
      return true;
    default:
      return false;
  }
}

Result<Counts> CountNetlink(const Query& q, DumpSource& source) {
  Tally tally(q);
  Query kernel_filter = q;
  uint16_t sport = SinglePort(q.lports), dport = SinglePort(q.rports);
  if (sport != 0) kernel_filter.lports.clear();
  if (dport != 0) kernel_filter.rports.clear();
  std::vector<uint8_t> bytecode = CompileBytecode(kernel_filter);
  uint32_t states = KernelStates(q.states);
  bool interrupted = false;
  bool single_walk = false;
  if (q.ipv4 && q.ipv6 && states != 0) {
    // One walk for both families; kernels or recordings without the compat
    // request refuse it before sending anything, and we do it per family.
    auto stats = RunDump(source, AF_UNSPEC, states, bytecode, tally, sport, dport);
    if (stats) {
      single_walk = true;
      interrupted = stats->interrupted;
    } else if (!CompatRefused(stats.error())) {
      return tl::unexpected(stats.error());
    } else if (tally.total() != 0) {
      return tl::unexpected(stats.error());
    }
  }
  for (int family : {AF_INET, AF_INET6}) {
    if (single_walk || states == 0) break;
    if (family == AF_INET ? !q.ipv4 : !q.ipv6) continue;
    auto stats = RunDump(source, family, states, bytecode, tally, sport, dport);
    if (!stats) return tl::unexpected(stats.error());
    interrupted |= stats->interrupted;
  }
  Counts c = tally.Finish();
  c.single_walk = single_walk;
  c.source = SourceKind::kNetlink;
  c.interrupted = interrupted;
  return c;
}

Result<Counts> CountProc(const Query& q, const std::string& net_dir) {
  Tally tally(q);
  for (int family : {AF_INET, AF_INET6}) {
    if (family == AF_INET ? !q.ipv4 : !q.ipv6) continue;
    std::string path = net_dir + (family == AF_INET ? "/tcp" : "/tcp6");
    auto lines = ReadProcNetTcp(path, family, tally);
    // No tcp6 file means no IPv6 in this kernel: nothing to count there.
    if (!lines && !(family == AF_INET6 && lines.error().code == ENOENT)) return tl::unexpected(lines.error());
  }
  Counts c = tally.Finish();
  c.source = SourceKind::kProc;
  return c;
}

Result<Counts> Count(const Query& q) {
  return CountWith(q, []() -> Result<std::unique_ptr<DumpSource>> {
    auto live = NetlinkSource::Open();
    if (!live) return tl::unexpected(live.error());
    return std::unique_ptr<DumpSource>(std::move(*live));
  });
}

Result<Counts> CountWith(const Query& q, const SourceOpener& open) {
  auto scope = sys::NetnsScope::Enter(q.netns);
  if (!scope) return tl::unexpected(scope.error());
  if (q.source == SourceKind::kProc) return CountProc(q);
  auto counts = CountRetrying(q, open);
  if (counts || q.source == SourceKind::kNetlink || !NetlinkRefused(counts.error())) return counts;
  auto proc = CountProc(q);
  if (proc) proc->fallback_reason = counts.error().ToString();
  return proc;
}

}  // namespace tcpmax::diag

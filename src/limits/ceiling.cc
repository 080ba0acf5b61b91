#include "limits/ceiling.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/address.h"
#include "core/units.h"
#include "limits/findings.h"
#include "limits/remedies.h"

namespace tcpmax::limits {

uint64_t SatMul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kProcess: return "process";
    case Scope::kUser: return "user";
    case Scope::kBox: return "box";
    case Scope::kTuple: return "tuple";
    case Scope::kNat: return "nat";
    case Scope::kThreads: return "threads";
    case Scope::kInfo: return "info";
  }
  return "?";
}

const Finding* Direction::Find(std::string_view id) const {
  for (const Finding& f : findings) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

namespace {

// Ports of ip_local_port_range minus the reserved ones inside it.
void CountPorts(Context& c) {
  auto lo = c.s.Sysctl("net.ipv4.ip_local_port_range", 0), hi = c.s.Sysctl("net.ipv4.ip_local_port_range", 1);
  if (!lo || !hi || *hi < *lo) return;
  if (c.s.reserved_ports && !c.s.reserved_ports->empty()) {
    if (auto ranges = ParsePortRanges(*c.s.reserved_ports)) {
      for (const PortRange& r : *ranges) {
        uint64_t a = std::max<uint64_t>(r.lo, *lo), b = std::min<uint64_t>(r.hi, *hi);
        if (a <= b) c.reserved_in_range += b - a + 1;
      }
    }
  }
  c.ephemeral_ports = *hi - *lo + 1 - std::min(c.reserved_in_range, *hi - *lo + 1);
}

// Usable source addresses: every address of a loopback IPv4 range except the
// network and broadcast ones (127.0.0.0/8 -> 16,777,214); one per other address.
void CountSources(Context& c) {
  if (!c.s.addresses) return;
  for (const sys::LocalAddress& a : *c.s.addresses) {
    auto cidr = ParseCidr(a.cidr);
    if (!cidr) continue;
    if (cidr->base.is_v6() != c.sc.ipv6) continue;
    if (a.loopback) {
      uint64_t n = cidr->Size();
      c.loopback_sources += c.sc.ipv6 || n <= 2 ? n : n - 2;
    } else {
      c.other_sources += 1;
    }
  }
}

struct Candidate {
  uint64_t value;
  const Finding* f;
  bool scaled;
};

Verdict MinOver(const std::vector<Finding>& rows, bool process, bool user, bool box, bool threads,
                uint64_t processes) {
  std::vector<Candidate> cands;
  for (const Finding& f : rows) {
    if (!f.allows) continue;
    bool is_process = f.scope == Scope::kProcess;
    bool is_box = f.scope == Scope::kBox || f.scope == Scope::kTuple || f.scope == Scope::kNat;
    bool is_threads = f.scope == Scope::kThreads;
    bool is_user = f.scope == Scope::kUser;
    if ((is_process && process) || (is_user && user) || (is_box && box) || (is_threads && threads)) {
      bool scaled = is_process && processes > 1;
      cands.push_back({is_process ? SatMul(*f.allows, processes) : *f.allows, &f, scaled});
    }
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.value < b.value; });
  Verdict v;
  if (cands.empty()) return v;
  v.ceiling = cands[0].value;
  v.binding = cands[0].f->id;
  if (cands.size() > 1) v.next = cands[1].f->id, v.next_ceiling = cands[1].value;
  std::string terms;
  for (size_t i = 0; i < cands.size() && i < 4; ++i) {
    terms += fmt::format("{}{} {}{}", i ? ", " : "", cands[i].f->limit, FormatCount(cands[i].value),
                         cands[i].scaled ? fmt::format(" ({} x {} processes)", FormatCount(*cands[i].f->allows),
                                                       processes)
                                         : "");
  }
  if (cands.size() > 4) terms += ", ...";
  v.arithmetic = fmt::format("min({}) = {}", terms, FormatCount(*v.ceiling));
  return v;
}

void MarkBinding(Direction& d) {
  for (Finding& f : d.findings) {
    f.binding = f.id == d.total.binding;
    f.binding_per_process = f.id == d.per_process.binding;
    f.binding_box = f.id == d.box.binding || f.id == d.per_user.binding;
  }
}

Direction BuildDirection(const Context& c, std::string name, std::vector<Finding> rows, uint64_t overhead) {
  Direction d;
  d.name = std::move(name);
  d.findings = std::move(rows);
  bool tpc = c.sc.thread_per_connection;
  d.per_process = MinOver(d.findings, true, false, false, false, 1);
  d.per_user = MinOver(d.findings, false, true, false, false, 1);
  d.box = MinOver(d.findings, false, false, true, tpc, 1);
  d.total = MinOver(d.findings, true, true, true, tpc, c.sc.processes);
  // When the per-process bound cannot be raised, what binds next is outside it.
  Verdict outside = MinOver(d.findings, false, true, true, tpc, 1);
  if (d.per_process.next.empty() && outside.ceiling) {
    d.per_process.next = outside.binding, d.per_process.next_ceiling = outside.ceiling;
  }
  if (d.per_process.ceiling && outside.ceiling && *d.per_process.ceiling > 0) {
    d.processes_for_box = (*outside.ceiling + *d.per_process.ceiling - 1) / *d.per_process.ceiling;
  }
  MarkBinding(d);
  AddRemedies(c, d, overhead);
  return d;
}

std::vector<Finding> Concat(std::vector<Finding> a, std::vector<Finding> b) {
  for (Finding& f : b) a.push_back(std::move(f));
  return a;
}

TimeWaitRate ComputeRate(const Context& c) {
  TimeWaitRate r;
  r.ports = c.ephemeral_ports;
  r.source_ips = c.sc.source_ips;
  r.tw_reuse = c.s.Sysctl("net.ipv4.tcp_tw_reuse");
  r.max_tw_buckets = c.s.Sysctl("net.ipv4.tcp_max_tw_buckets");
  r.reuse_applies = r.tw_reuse && (*r.tw_reuse == 1 || (*r.tw_reuse == 2 && c.sc.loopback));
  uint64_t held = SatMul(r.ports, r.source_ips);
  uint64_t window = r.reuse_applies ? 1 : r.time_wait_seconds;
  r.per_second = double(held) / double(window);
  r.arithmetic = fmt::format("{} ports x {} source ip / {} s {} = {:.0f} new connections/s to one destination",
                             FormatCount(r.ports), FormatCount(r.source_ips), window,
                             r.reuse_applies ? "(tcp_tw_reuse: a TIME_WAIT port is reusable after 1 s)"
                                             : "(TIME_WAIT holds each port 60 s)",
                             r.per_second);
  std::string mode = !r.tw_reuse ? "unknown" : *r.tw_reuse == 0 ? "0 (off)" : *r.tw_reuse == 1 ? "1 (on)"
                                                                           : "2 (loopback only)";
  r.note = fmt::format("when the client closes first; tcp_tw_reuse = {}. A server that closes first keeps the "
                       "TIME_WAIT itself and frees the client's port at once.", mode);
  if (r.max_tw_buckets && held > *r.max_tw_buckets) {
    r.note += fmt::format(" Past tcp_max_tw_buckets ({}) the kernel drops TIME_WAIT sockets at once "
                          "(\"time wait bucket table overflow\"), which frees ports sooner.",
                          FormatCount(*r.max_tw_buckets));
  }
  return r;
}

TupleSpace ComputeTuples(const Context& c) {
  TupleSpace t;
  t.ephemeral_ports = c.ephemeral_ports;
  t.loopback_sources = c.loopback_sources;
  t.other_sources = c.other_sources;
  t.scenario_tuples = SatMul(SatMul(c.ephemeral_ports, c.sc.source_ips), c.sc.destinations);
  t.arithmetic = fmt::format(
      "{} ports per client address per server ip:port (65,535 if every port were usable: the folklore \"64K\"), "
      "x client addresses x server ports x server addresses. Here: {} x {} source ip x {} destination = {}. "
      "Loopback offers {} source addresses: {} x {} = {} per server ip:port.",
      FormatCount(c.ephemeral_ports), FormatCount(c.ephemeral_ports), FormatCount(c.sc.source_ips),
      FormatCount(c.sc.destinations), FormatCount(t.scenario_tuples), FormatCount(c.loopback_sources),
      FormatCount(c.loopback_sources), FormatCount(c.ephemeral_ports),
      FormatCount(SatMul(c.loopback_sources, c.ephemeral_ports)));
  return t;
}

UserlandEstimate ComputeUserland(const Context& c) {
  UserlandEstimate u;
  u.bytes_per_connection = std::max<uint64_t>(c.sc.userland_bytes, 1);
  if (c.s.mem_available) {
    u.allows = *c.s.mem_available / u.bytes_per_connection;
    u.arithmetic = fmt::format("{} B / {} B of state per connection = {}; no fd, no kernel socket, and 2^48 "
                               "remote (ip, port) per local ip:port (IPv4)",
                               FormatCount(*c.s.mem_available), FormatCount(u.bytes_per_connection),
                               FormatCount(*u.allows));
  }
  return u;
}

}  // namespace

Ceiling ComputeCeiling(const Snapshot& s, const Scenario& sc) {
  Ceiling out;
  out.scenario = sc;
  out.source = s.source;
  out.unknown = s.unknown;
  out.memory = KernelBytesPerEnd(s, sc.ipv6, sc.epoll);
  out.ends_on_box = sc.loopback ? 2 : 1;
  out.bytes_per_connection = std::max<uint64_t>(
      out.memory.per_end * out.ends_on_box + sc.app_bytes + sc.queued_bytes * out.ends_on_box, 1);

  Context c{s, sc, out.ends_on_box, out.bytes_per_connection};
  CountPorts(c);
  CountSources(c);

  uint64_t listeners = SatMul(sc.listen_ports, sc.listen_ips);
  uint64_t in_overhead = 3 + listeners + (sc.epoll ? 1 : 0);
  uint64_t out_overhead = 3 + (sc.epoll ? 1 : 0);
  auto threads = ThreadFindings(c);
  out.inbound = BuildDirection(
      c, "inbound",
      Concat(Concat(Concat(ProcessFindings(c, in_overhead), BoxFindings(c)), {InboundTupleFinding(c)}), threads),
      in_overhead);
  auto outbound_rows = [&](const Context& cc) {
    return Concat(Concat(Concat(ProcessFindings(cc, out_overhead), BoxFindings(cc)), OutboundTupleFindings(cc)),
                  threads);
  };
  out.outbound = BuildDirection(c, "outbound", outbound_rows(c), out_overhead);

  Scenario other = sc;
  other.bind_no_port = !sc.bind_no_port;
  Context alt{s, other, c.ends, c.bytes_per_connection, c.ephemeral_ports, c.reserved_in_range,
              c.loopback_sources, c.other_sources};
  Direction alt_dir = BuildDirection(alt, "outbound", outbound_rows(alt), out_overhead);
  out.outbound_with_bind_no_port = sc.bind_no_port ? out.outbound.box.ceiling : alt_dir.box.ceiling;
  out.outbound_without_bind_no_port = sc.bind_no_port ? alt_dir.box.ceiling : out.outbound.box.ceiling;

  out.rate = ComputeRate(c);
  out.tuple = ComputeTuples(c);
  out.userland = ComputeUserland(c);
  out.queues = InformationalFindings(c);
  return out;
}

}  // namespace tcpmax::limits

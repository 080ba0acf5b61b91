// The text table of `tcpmax limits`: verdicts, one row per limit, remedies.
#include "report/limits.h"

#include <fmt/format.h>

#include "core/units.h"
#include "report/format.h"

namespace tcpmax::report {

using limits::Ceiling;
using limits::Direction;
using limits::Finding;
using limits::Scenario;
using limits::Scope;
using limits::ScopeName;
using limits::SlabItem;
using limits::Verdict;

namespace {

std::string Status(const Finding& f) {
  if (!f.known) return "unknown";
  if (f.binding) return "BINDS";
  if (f.binding_per_process) return "binds per process";
  if (f.binding_box) return f.scope == Scope::kUser ? "binds per user" : "binds the box";
  if (f.allows_unprivileged) return "passed (CAP_SYS_ADMIN)";
  if (!f.allows) return "no bound";
  return "";
}

std::string LimitName(const Direction& d, const std::string& id) {
  const Finding* f = d.Find(id);
  return f ? f->limit : id;
}

void Table(std::string& out, const Direction& d, bool threads) {
  out += fmt::format("  {:<2}{:<34} {:<8} {:<40} {:>14}  {}\n", "", "limit", "scope", "observed", "allows", "status");
  for (const Finding& f : d.findings) {
    if (f.scope == Scope::kThreads && !threads) continue;
    out += fmt::format("  {:<2}{:<34} {:<8} {:<40} {:>14}  {}\n", f.binding ? "*" : "", f.limit, ScopeName(f.scope),
                       f.observed, f.allows ? FormatCount(*f.allows) : (f.known ? "-" : "?"), Status(f));
  }
}

void Verdicts(std::string& out, const Ceiling& c, const Direction& d) {
  auto line = [&](const char* label, const Verdict& v) {
    if (!v.ceiling) {
      out += fmt::format("  {:<12} {:>14}  no known limit\n", label, "-");
      return;
    }
    const Finding* f = d.Find(v.binding);
    std::string why = f && !f->arithmetic.empty() ? f->arithmetic : v.arithmetic;
    out += fmt::format("  {:<12} {:>14}  {}: {}\n", label, FormatCount(*v.ceiling), LimitName(d, v.binding), why);
  };
  line("per process", d.per_process);
  line("per user", d.per_user);
  line("whole box", d.box);
  const Finding* file_max = d.Find("fs.file-max");
  if (file_max && file_max->allows_unprivileged && d.box.ceiling && *file_max->allows_unprivileged < *d.box.ceiling) {
    out += fmt::format("  {:<12} {:>14}  fs.file-max binds the box for a process without CAP_SYS_ADMIN: {}\n",
                       "unprivileged", FormatCount(*file_max->allows_unprivileged), file_max->arithmetic);
  }
  out += fmt::format("  {:<12} {:>14}  with {} process{}{}\n", "ceiling",
                     d.total.ceiling ? FormatCount(*d.total.ceiling) : "unknown", c.scenario.processes,
                     c.scenario.processes == 1 ? "" : "es",
                     d.total.binding.empty() ? "" : "; binding: " + LimitName(d, d.total.binding));
  if (!d.total.next.empty()) {
    out += fmt::format("  {:<12} {:>14}  {} (once the binding limit is raised)\n", "next limit",
                       FormatCount(*d.total.next_ceiling), LimitName(d, d.total.next));
  }
  if (d.processes_for_box > 1) {
    out += fmt::format("  {:<12} {:>14}  processes (or io_uring rings) of {} each before a user or box limit binds\n",
                       "to reach box", FormatCount(d.processes_for_box), FormatCount(*d.per_process.ceiling));
  }
}

// Remedies of the limits that matter: the binding one, the next one, what
// binds one process (when more than the scenario's processes are needed to
// get past it) and what binds the box.
void Remedies(std::string& out, const Direction& d, uint64_t processes) {
  bool header = false;
  for (const Finding& f : d.findings) {
    bool process_matters = f.binding_per_process && d.processes_for_box > processes;
    bool key = f.binding || process_matters || f.binding_box || f.id == d.total.next;
    if (!key || f.remedies.empty()) continue;
    if (!header) out += "  remedies:\n", header = true;
    out += fmt::format("    {} ({}):\n", f.limit, f.note);
    for (const std::string& r : f.remedies) out += fmt::format("      - {}\n", r);
  }
}

std::string MemoryLine(const Ceiling& c) {
  std::string items;
  for (const SlabItem& i : c.memory.items) {
    items += fmt::format("{}{} {}{}", items.empty() ? "" : " + ", i.cache, FormatCount(i.bytes),
                         i.from_slabinfo ? "" : "*");
  }
  std::string s = fmt::format("memory per connection end (kernel, {}): {} = {} B", c.memory.source, items,
                              FormatCount(c.memory.per_end));
  if (c.memory.source == "override") s = fmt::format("memory per connection end: {} B (--set)", c.memory.per_end);
  if (c.memory.source.find("fallback") != std::string::npos) s += "  (* fallback size: slabinfo unreadable)";
  s += fmt::format("\nper connection on this box: {} B ({} end{}{}{})\n", FormatCount(c.bytes_per_connection),
                   c.ends_on_box, c.ends_on_box > 1 ? "s: client and server both here" : "",
                   c.scenario.app_bytes ? fmt::format(" + {} B application", c.scenario.app_bytes) : "",
                   c.scenario.queued_bytes ? fmt::format(" + {} B queued", c.scenario.queued_bytes) : "");
  return s;
}

}  // namespace

std::string LimitsText(const Ceiling& c) {
  const Scenario& sc = c.scenario;
  std::string out = fmt::format(
      "tcpmax limits ({}): inbound on {} listening ip:port, outbound from {} source ip to {} destination ip:port, "
      "{} process{}{}{}\n",
      c.source, FormatCount(sc.listen_ports * sc.listen_ips), FormatCount(sc.source_ips),
      FormatCount(sc.destinations), sc.processes, sc.processes == 1 ? "" : "es", sc.epoll ? ", epoll" : "",
      sc.loopback ? ", both ends on this box" : "");
  out += MemoryLine(c);

  out += "\nINBOUND: this box accepts connections (server)\n";
  Verdicts(out, c, c.inbound);
  out += "\n";
  Table(out, c.inbound, sc.thread_per_connection);
  Remedies(out, c.inbound, sc.processes);

  out += "\nOUTBOUND: this box opens connections (client)\n";
  Verdicts(out, c, c.outbound);
  out += fmt::format("  {:<12} {:>14}  whole box with IP_BIND_ADDRESS_NO_PORT; {} without it (bind() before connect())\n",
                     "bind", CountOrUnknown(c.outbound_with_bind_no_port),
                     CountOrUnknown(c.outbound_without_bind_no_port));
  out += "\n";
  Table(out, c.outbound, sc.thread_per_connection);
  Remedies(out, c.outbound, sc.processes);

  out += "\nNEW-CONNECTION RATE to one destination ip:port (TIME_WAIT)\n";
  out += fmt::format("  {}\n  {}\n", c.rate.arithmetic, c.rate.note);

  out += "\nTUPLE SPACE\n";
  out += fmt::format("  {}\n", c.tuple.arithmetic);
  out += "  IPv4: 2^96 4-tuples in all, 2^48 remote (ip, port) per server ip:port; IPv6: 2^288 and 2^144.\n";

  out += "\nUSER-SPACE TCP STACK (no fd, no kernel socket)\n";
  out += fmt::format("  {}\n", c.userland.arithmetic.empty() ? "unknown: MemAvailable unknown" : c.userland.arithmetic);

  out += "\nQUEUES AND OTHER SETTINGS (bursts and teardown, not held connections)\n";
  for (const Finding& f : c.queues) out += fmt::format("  {:<30} {:<22} {}\n", f.limit, f.observed, f.note);
  if (!sc.thread_per_connection) {
    out += "  (thread limits: pid_max, threads-max, RLIMIT_NPROC, pids.max apply with --thread-per-connection)\n";
  }
  if (!c.unknown.empty()) {
    out += "\nUNKNOWN READINGS (left out; the rest is computed)\n";
    for (const auto& [what, why] : c.unknown) out += fmt::format("  {}: {}\n", what, why);
  }
  return out;
}

}  // namespace tcpmax::report

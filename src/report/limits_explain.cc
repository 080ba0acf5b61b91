// The --explain narrative of `tcpmax limits`: every verdict with its arithmetic.
#include "report/limits.h"

#include <fmt/format.h>

#include "core/units.h"
#include "report/format.h"

namespace tcpmax::report {

using limits::Ceiling;
using limits::Direction;
using limits::Finding;
using limits::Scope;
using limits::Verdict;

namespace {

void Why(std::string& out, const Direction& d, const Verdict& v, std::string_view what) {
  const Finding* f = d.Find(v.binding);
  if (!f || !v.ceiling) {
    out += fmt::format("{}: no known limit bounds it (readings unknown).\n", what);
    return;
  }
  out += fmt::format("{}: {} connections. The binding limit is {} ({}): {}. {}.\n", what, FormatCount(*v.ceiling),
                     f->limit, f->observed, f->arithmetic.empty() ? v.arithmetic : f->arithmetic, f->note);
}

void ExplainDirection(std::string& out, const Ceiling& c, const Direction& d, std::string_view role) {
  out += fmt::format("\n== {} ({}) ==\n", d.name, role);
  Why(out, d, d.per_process, "One process can hold");
  if (const Finding* f = d.Find(d.per_process.binding); f && !f->remedies.empty()) {
    out += "To go past it:\n";
    for (const std::string& r : f->remedies) out += fmt::format("  - {}\n", r);
  }
  if (d.per_user.ceiling) Why(out, d, d.per_user, "All processes of one user can hold");
  Why(out, d, d.box, "The whole box can hold");
  const Finding* file_max = d.Find("fs.file-max");
  if (file_max && file_max->allows_unprivileged) {
    out += fmt::format("fs.file-max does not stop this process (it holds CAP_SYS_ADMIN); a server without that "
                       "capability would stop at {}: {}.\n", FormatCount(*file_max->allows_unprivileged),
                       file_max->arithmetic);
  }
  if (d.box.ceiling) out += fmt::format("  (the minimum over box limits: {})\n", d.box.arithmetic);
  if (d.processes_for_box > 1) {
    out += fmt::format("So {} processes (or io_uring rings) are needed before the box itself is the limit.\n",
                       FormatCount(d.processes_for_box));
  }
  if (d.total.ceiling) {
    out += fmt::format("With {} process{} the answer is {}; once {} is raised, {} binds next{}.\n",
                       c.scenario.processes, c.scenario.processes == 1 ? "" : "es", FormatCount(*d.total.ceiling),
                       d.Find(d.total.binding)->limit, d.total.next.empty() ? "nothing known" : d.Find(d.total.next)->limit,
                       d.total.next_ceiling ? " at " + FormatCount(*d.total.next_ceiling) : "");
  }
  out += "Every limit considered:\n";
  for (const Finding& f : d.findings) {
    if (f.scope == Scope::kThreads && !c.scenario.thread_per_connection) continue;
    out += fmt::format("  - {} = {}: {}{}{}\n", f.limit, f.observed,
                       f.allows ? "allows " + FormatCount(*f.allows) : (f.known ? "no bound" : "unknown"),
                       f.arithmetic.empty() ? "" : " [" + f.arithmetic + "]", f.note.empty() ? "" : ". " + f.note);
  }
}

}  // namespace

std::string LimitsExplain(const Ceiling& c) {
  std::string out = fmt::format(
      "How many TCP connections can this box hold, and what stops it first? ({})\n\n"
      "A connection is one 4-tuple (source ip, source port, destination ip, destination port), so \"64K\" is only "
      "the number of ports one client address has toward one server ip:port. What really stops a box is the "
      "first of a chain of limits: file descriptors per process (RLIMIT_NOFILE), open files of the box "
      "(fs.file-max), kernel memory per socket, epoll watches, connection tracking, and on the client side the "
      "ephemeral ports.\n\n"
      "Each connection end held open costs this kernel {} B of slab objects ({}), {} B on this box per "
      "connection; socket buffers cost memory only while data waits.\n",
      c.source, FormatCount(c.memory.per_end), c.memory.source, FormatCount(c.bytes_per_connection));
  ExplainDirection(out, c, c.inbound, "this box is the server");
  ExplainDirection(out, c, c.outbound, "this box is the client");
  out += fmt::format("With IP_BIND_ADDRESS_NO_PORT the client reaches {}; binding a source address without it, {}.\n",
                     CountOrUnknown(c.outbound_with_bind_no_port), CountOrUnknown(c.outbound_without_bind_no_port));
  out += fmt::format("\n== rate ==\n{}. {}\n", c.rate.arithmetic, c.rate.note);
  out += fmt::format("\n== tuple space ==\n{}\nIPv4 has 2^96 4-tuples (2^48 per server ip:port); IPv6 2^288 "
                     "(2^144).\n", c.tuple.arithmetic);
  out += fmt::format("\n== beyond the kernel ==\nA TCP stack in user space over a raw packet interface needs no fd "
                     "and no kernel socket per connection: only memory and the tuple space remain. {}\n",
                     c.userland.arithmetic);
  if (!c.unknown.empty()) {
    out += "\nUnknown readings (left out of every minimum):\n";
    for (const auto& [what, why] : c.unknown) out += fmt::format("  - {}: {}\n", what, why);
  }
  return out;
}

}  // namespace tcpmax::report

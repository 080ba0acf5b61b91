#include "report/text_report.h"

#include <cmath>

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::report {
namespace {

std::string PerConn(const probe::LineFit& f) {
  if (!f.valid()) return "not enough samples";
  return fmt::format("{} per connection (fit over {} samples, r2 {:.3f})", FormatBytes(f.slope), f.points, f.r2);
}

}  // namespace

std::string ProbeToText(const probe::ProbeReport& r) {
  std::string out;
  auto line = [&out](std::string s) {
    out += s;
    out += '\n';
  };
  line(fmt::format("tcpmax probe: {} cores, {} RAM, kernel {}", r.cores, FormatBytes(double(r.mem_total)), r.kernel));
  line(fmt::format("plan: {} connections to {} from {} ({}); {} serve + {} load process(es)",
                   FormatCount(r.plan.target), r.plan.TargetSpec(), r.plan.SourceSpec(), r.engine,
                   r.plan.serve_processes, r.plan.load_processes));
  line("");
  line(fmt::format("measured   {:>12} connections held at once", FormatCount(r.reached)));
  if (r.verified) {
    const probe::Verification& v = r.verification;
    line(fmt::format("verified   {}: the kernel counts {} server ends and {} client ends established; the shards "
                     "hold {} and {}",
                     v.ok ? "yes" : "NO", FormatCount(v.server_counted), FormatCount(v.client_counted),
                     FormatCount(v.serve_held), FormatCount(v.load_held)));
    if (!v.ok) line(fmt::format("           FAILED: {}", v.problem));
  }
  line(fmt::format("stopped    {}: {}", probe::StopReasonName(r.stop_reason), r.stop_detail));
  if (r.guard_tripped) {
    line(fmt::format("           the memory guard stopped the load at once ({} connects attempted after the last "
                     "sample before it tripped)",
                     FormatCount(r.attempted_after_guard)));
  }
  line(fmt::format("binding    {}{}", r.binding_limit, r.binding_id.empty() ? "" : " [" + r.binding_id + "]"));
  if (!r.remedy.empty()) line(fmt::format("remedy     {}", r.remedy));
  line(fmt::format("climb      {:.1f} s, {} conn/s mean, {} conn/s peak; teardown {:.1f} s; longest sample gap {:.2f} s",
                   r.climb_seconds, FormatCount(uint64_t(r.mean_rate)), FormatCount(uint64_t(r.peak_rate)),
                   r.teardown_seconds, r.max_sample_gap_seconds));
  if (!r.errors.empty()) {
    std::string errs;
    for (const auto& [k, v] : r.errors) errs += fmt::format("{}{} {}", errs.empty() ? "" : ", ", k, FormatCount(v));
    line(fmt::format("errors     {}", errs));
  }
  line("");
  line(fmt::format("kernel     {} per connection (both ends; the larger of:)", FormatBytes(r.kernel_bytes)));
  line(fmt::format("  slab     {}", PerConn(r.slab_fit)));
  line(fmt::format("  memory   {}", PerConn(r.kernel_fit) + " (MemAvailable drop - user-space growth)"));
  line(fmt::format("  sockets  {}", PerConn(r.socket_slab_fit) +
                                         " (the socket caches alone: socket, inode, file, epoll watch; no dentries)"));
  if (r.slab_share.valid()) {
    const probe::SlabShare& s = r.slab_share;
    line(fmt::format("  at peak  {} per connection the sockets own ({:.2f} sockets each), {} other slab growth",
                     FormatBytes(s.socket_bytes), s.sockets, FormatBytes(s.other_bytes)));
    for (const auto& c : s.caches) {
      if (std::fabs(c.bytes) < 8) continue;
      line(fmt::format("           {:<20} {:>6.2f} objects {:>9} {}", c.cache, c.objects, FormatBytes(c.bytes),
                       c.socket_bytes != 0 ? (c.socket_bytes == c.bytes ? "socket" : "socket (one per socket)")
                                           : "other"));
    }
  }
  line(fmt::format("user space {:.1f} B per connection (serve), {:.1f} B (load)", r.user_bytes_serve,
                   r.user_bytes_load));
  line("");
  if (r.predicted_ceiling > 0) {
    line(fmt::format("predicted  {} connections on loopback, bound by {} [{}]", FormatCount(r.predicted_ceiling),
                     r.predicted_binding, r.predicted_binding_id));
    if (!r.predicted_explain.empty()) line(fmt::format("           {}", r.predicted_explain));
    for (const auto& n : r.predicted_notes) line(fmt::format("           {}", n));
    if (!r.binding_id.empty()) {
      line(fmt::format("           measured binding [{}] {} the predicted one", r.binding_id,
                       r.binding_id == r.predicted_binding_id ? "matches" : "differs from"));
    }
  }
  if (r.projected_by_memory > 0) {
    line(fmt::format("projected  {} connections fit in MemAvailable above the reserve at the measured cost",
                     FormatCount(r.projected_by_memory)));
  }
  for (const auto& s : r.settings_changed) line(fmt::format("setting    {}", s));
  for (const auto& n : r.notes) line(fmt::format("note       {}", n));
  return out;
}

}  // namespace tcpmax::report

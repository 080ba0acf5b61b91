#include "probe/predict.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/units.h"
#include "limits/ceiling.h"

namespace tcpmax::probe {
namespace {

// The scopes that bound a probe run: its shards share one user and one box.
bool Applies(const limits::Finding& f) {
  switch (f.scope) {
    case limits::Scope::kUser:
    case limits::Scope::kBox:
    case limits::Scope::kTuple: return true;
    default: return false;  // per-process limits are planned around; threads, NAT and info do not apply
  }
}

}  // namespace

Prediction Predict(limits::Snapshot snap, const std::vector<Setting>& settings, const Plan& plan,
                   uint64_t reserve_bytes, uint64_t usable, bool watched) {
  Prediction p;
  for (const Setting& s : settings) {
    if (limits::ApplySetting(snap, s.name, s.value)) {
      p.notes.push_back(fmt::format("with {} = {} (--tune)", s.name, s.value));
    }
  }
  if (usable > 0) {
    // What the guard stops on: free memory and page cache (and the
    // reclaimable slab of now), not MemAvailable; less what the shard
    // processes themselves take.
    uint64_t shards = uint64_t{plan.serve_processes + plan.load_processes} * kShardProcessBytes;
    uint64_t floor = reserve_bytes + shards;
    uint64_t above = usable > floor ? usable - floor : 0;
    (void)limits::ApplySetting(snap, "mem.available", std::to_string(above));
    p.notes.push_back(fmt::format("usable memory {} (free + page cache + reclaimable slab) less the probe's reserve "
                                  "of {} and {} shard processes at {} each",
                                  FormatBytes(double(usable)), FormatBytes(double(reserve_bytes)),
                                  plan.serve_processes + plan.load_processes, FormatBytes(double(kShardProcessBytes))));
  } else if (snap.mem_available) {
    uint64_t above = *snap.mem_available > reserve_bytes ? *snap.mem_available - reserve_bytes : 0;
    (void)limits::ApplySetting(snap, "mem.available", std::to_string(above));
    p.notes.push_back(fmt::format("MemAvailable less the probe's reserve of {}", FormatBytes(double(reserve_bytes))));
  }
  limits::Scenario sc;
  sc.loopback = true;
  sc.epoll = watched;
  if (usable > 0) {
    sc.app_bytes = kClimbExtraBytesPerConnection;
    p.notes.push_back(fmt::format("{} B per connection beside the sockets' slab (the shards' user memory and kmalloc "
                                  "objects, measured on this kernel)",
                                  kClimbExtraBytesPerConnection));
  }
  if (!watched) p.notes.push_back("held connections unwatched: no epoll item per socket");
  sc.listen_ports = plan.ports;
  sc.processes = std::max(plan.serve_processes, plan.load_processes);
  limits::Ceiling c = limits::ComputeCeiling(snap, sc);
  std::string terms;
  for (const limits::Finding& f : c.inbound.findings) {
    if (!f.allows || !Applies(f)) continue;
    // With the guard's figure in place of MemAvailable, name it so.
    std::string name = usable > 0 && f.id == "memory" ? "usable memory" : f.limit;
    p.limits.push_back({f.id, name, *f.allows, false});
  }
  PredictedLimit* best = nullptr;
  for (PredictedLimit& l : p.limits) {
    terms += fmt::format("{}{} {}", terms.empty() ? "" : ", ", l.limit, FormatCount(l.ceiling));
    if (best == nullptr || l.ceiling < best->ceiling) best = &l;
  }
  if (best == nullptr) return p;
  best->binding = true;
  p.known = true;
  p.ceiling = best->ceiling;
  p.binding_id = best->id;
  p.binding_limit = best->limit;
  p.arithmetic = fmt::format("min({}) = {}", terms, FormatCount(p.ceiling));
  return p;
}

}  // namespace tcpmax::probe

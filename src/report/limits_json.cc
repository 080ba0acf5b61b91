// The --json document of `tcpmax limits` (schema tcpmax.limits/2, docs/limits-json.md).
#include "report/limits.h"

namespace tcpmax::report {

using limits::Ceiling;
using limits::Direction;
using limits::Finding;
using limits::Reading;
using limits::Scenario;
using limits::ScopeName;
using limits::SlabItem;
using limits::Verdict;

namespace {

using nlohmann::json;

json Opt(const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); }

json ReadingJson(const Reading& r) {
  switch (r.kind) {
    case Reading::Kind::kNumber: return r.values.empty() ? json(nullptr) : json(r.values[0]);
    case Reading::Kind::kList: return json(r.values);
    case Reading::Kind::kNoLimit: return json(nullptr);
    case Reading::Kind::kFlag: return !r.values.empty() && r.values[0] != 0;
  }
  return nullptr;
}

// {"hard": 20000}, {"range": [32768, 60999], "ports": 28232, "reserved": 0};
// null when the reading is unknown.
json ObservedJson(const Finding& f) {
  if (!f.known) return nullptr;
  json out = json::object();
  for (const Reading& r : f.readings) out[r.name] = ReadingJson(r);
  return out;
}

json FindingJson(const Finding& f) {
  return {{"id", f.id},
          {"limit", f.limit},
          {"scope", std::string(ScopeName(f.scope))},
          {"observed", ObservedJson(f)},
          {"known", f.known},
          {"allows", Opt(f.allows)},
          {"allows_unprivileged", Opt(f.allows_unprivileged)},
          {"arithmetic", f.arithmetic},
          {"note", f.note},
          {"remedies", f.remedies},
          {"binding", f.binding},
          {"binding_per_process", f.binding_per_process},
          {"binding_box", f.binding_box}};
}

json VerdictJson(const Verdict& v) {
  return {{"ceiling", Opt(v.ceiling)},
          {"binding", v.binding.empty() ? json(nullptr) : json(v.binding)},
          {"next", v.next.empty() ? json(nullptr) : json(v.next)},
          {"next_ceiling", Opt(v.next_ceiling)},
          {"arithmetic", v.arithmetic}};
}

json DirectionJson(const Direction& d) {
  json rows = json::array();
  for (const Finding& f : d.findings) rows.push_back(FindingJson(f));
  return {{"per_process", VerdictJson(d.per_process)},
          {"per_user", VerdictJson(d.per_user)},
          {"box", VerdictJson(d.box)},
          {"total", VerdictJson(d.total)},
          {"processes_for_box", d.processes_for_box},
          {"findings", rows}};
}

json ScenarioJson(const Scenario& s) {
  return {{"listen_ports", s.listen_ports},
          {"listen_ips", s.listen_ips},
          {"processes", s.processes},
          {"destinations", s.destinations},
          {"source_ips", s.source_ips},
          {"bind_no_port", s.bind_no_port},
          {"ipv6", s.ipv6},
          {"epoll", s.epoll},
          {"loopback", s.loopback},
          {"app_bytes", s.app_bytes},
          {"queued_bytes", s.queued_bytes},
          {"thread_per_connection", s.thread_per_connection},
          {"nat", s.nat ? json(std::string(s.nat->name)) : json(nullptr)},
          {"nat_ips", s.nat_ips},
          {"nat_vm_ports", s.nat_vm_ports},
          {"userland_bytes", s.userland_bytes}};
}

}  // namespace

json LimitsJson(const Ceiling& c) {
  json items = json::array();
  for (const SlabItem& i : c.memory.items) {
    items.push_back({{"cache", i.cache}, {"bytes", i.bytes}, {"objsize_bytes", i.objsize}, {"from_slabinfo", i.from_slabinfo}});
  }
  json queues = json::array();
  for (const Finding& f : c.queues) queues.push_back(FindingJson(f));
  return {
      {"schema", kLimitsSchema},
      {"source", c.source},
      {"scenario", ScenarioJson(c.scenario)},
      {"memory",
       {{"per_end_bytes", c.memory.per_end},
        {"source", c.memory.source},
        {"items", items},
        {"ends_on_box", c.ends_on_box},
        {"per_connection_bytes", c.bytes_per_connection}}},
      {"inbound", DirectionJson(c.inbound)},
      {"outbound", DirectionJson(c.outbound)},
      {"outbound_bind",
       {{"with_bind_no_port", Opt(c.outbound_with_bind_no_port)},
        {"without_bind_no_port", Opt(c.outbound_without_bind_no_port)}}},
      {"rate",
       {{"ports", c.rate.ports},
        {"source_ips", c.rate.source_ips},
        {"time_wait_seconds", c.rate.time_wait_seconds},
        {"tcp_tw_reuse", Opt(c.rate.tw_reuse)},
        {"reuse_applies", c.rate.reuse_applies},
        {"per_second", c.rate.per_second},
        {"max_tw_buckets", Opt(c.rate.max_tw_buckets)},
        {"arithmetic", c.rate.arithmetic},
        {"note", c.rate.note}}},
      {"tuple",
       {{"ephemeral_ports", c.tuple.ephemeral_ports},
        {"all_ports", c.tuple.all_ports},
        {"loopback_sources", c.tuple.loopback_sources},
        {"other_sources", c.tuple.other_sources},
        {"scenario_tuples", c.tuple.scenario_tuples},
        {"ipv4_total_log2", 96},
        {"ipv4_per_server_endpoint_log2", 48},
        {"ipv6_total_log2", 288},
        {"ipv6_per_server_endpoint_log2", 144},
        {"arithmetic", c.tuple.arithmetic}}},
      {"userland",
       {{"bytes_per_connection", c.userland.bytes_per_connection},
        {"allows", Opt(c.userland.allows)},
        {"arithmetic", c.userland.arithmetic}}},
      {"queues", queues},
      {"unknown", c.unknown},
  };
}

}  // namespace tcpmax::report

#include "report/json_report.h"

#include <cmath>

namespace tcpmax::report {
namespace {

// Null when no reading was taken at the peak.
nlohmann::json SlabShareJson(const probe::SlabShare& s) {
  if (!s.valid()) return nullptr;
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& c : s.caches) {
    caches.push_back({{"cache", c.cache},
                      {"objects_per_connection", std::round(c.objects * 100) / 100},
                      {"bytes_per_connection", std::round(c.bytes)},
                      {"socket_bytes_per_connection", std::round(c.socket_bytes)}});
  }
  return {{"connections", s.connections},
          {"sockets_per_connection", std::round(s.sockets * 100) / 100},
          {"socket_bytes_per_connection", std::round(s.socket_bytes)},
          {"other_bytes_per_connection", std::round(s.other_bytes)},
          {"caches", caches}};
}

nlohmann::json FitJson(const probe::LineFit& f) {
  if (!f.valid()) return nullptr;
  return {{"bytes_per_connection", std::round(f.slope)}, {"intercept_bytes", std::round(f.intercept)},
          {"r2", f.r2}, {"points", f.points}};
}

nlohmann::json VerificationJson(const probe::ProbeReport& r) {
  if (!r.verified) return nullptr;
  const probe::Verification& v = r.verification;
  return {{"ok", v.ok},
          {"problem", v.problem},
          {"server_established", v.server_counted},
          {"client_established", v.client_counted},
          {"serve_held", v.serve_held},
          {"load_held", v.load_held},
          {"interrupted", v.interrupted}};
}

}  // namespace

// Long, but one initializer: the schema written out as data, in the order of
// docs/probe.md, so a reader checks them side by side.
nlohmann::json ProbeToJson(const probe::ProbeReport& r) {
  using nlohmann::json;
  json plan = {
      {"target", r.plan.target},
      {"server", r.plan.TargetSpec()},
      {"ports", r.plan.ports},
      {"sources", r.plan.SourceSpec()},
      {"source_count", r.plan.sources},
      {"per_pair", r.plan.per_pair},
      {"serve_engine", EngineName(r.plan.serve_engine)},
      {"load_engine", EngineName(r.plan.load_engine)},
      {"serve_processes", r.plan.serve_processes},
      {"load_processes", r.plan.load_processes},
      {"notes", r.plan.notes},
  };
  json samples = json::array();
  for (const auto& s : r.samples) {
    samples.push_back({{"t_seconds", s.t},
                       {"established", s.established},
                       {"opened", s.opened},
                       {"failed", s.failed},
                       {"rate_per_second", s.rate},
                       {"mem_used_bytes", s.mem_used},
                       {"kernel_bytes", s.kernel},
                       {"slab_bytes", s.slab},
                       {"socket_slab_bytes", s.socket_slab},
                       {"anon_growth_serve_bytes", s.anon_serve},
                       {"anon_growth_load_bytes", s.anon_load},
                       {"file_nr", s.file_nr},
                       {"usable_bytes", s.usable},
                       {"memory_pressure_percent", s.memory_pressure}});
  }
  json predicted = json::array();
  for (const auto& p : r.predicted) {
    predicted.push_back({{"id", p.id}, {"limit", p.limit}, {"ceiling", p.ceiling}, {"binding", p.binding}});
  }
  return {
      {"schema", "tcpmax.probe/2"},
      {"machine",
       {{"kernel", r.kernel},
        {"cores", r.cores},
        {"mem_total_bytes", r.mem_total},
        {"mem_available_bytes", r.mem_available_start},
        {"reserve_bytes", r.reserve_bytes}}},
      {"request", {{"target", r.target}, {"max", r.max_mode}, {"tune", r.tuned}, {"engine", r.engine}}},
      {"plan", plan},
      {"result",
       {{"reached", r.reached},
        {"verification", VerificationJson(r)},
        {"target_reached", r.target_reached},
        {"failed", r.failed()},
        {"stop_reason", probe::StopReasonName(r.stop_reason)},
        {"stop_detail", r.stop_detail},
        {"binding_id", r.binding_id},
        {"binding_limit", r.binding_limit},
        {"guard_tripped", r.guard_tripped},
        {"attempted_after_guard", r.attempted_after_guard},
        {"max_sample_gap_seconds", r.max_sample_gap_seconds},
        {"remedy", r.remedy},
        {"errors", r.errors},
        {"climb_seconds", r.climb_seconds},
        {"mean_rate_per_second", r.mean_rate},
        {"peak_rate_per_second", r.peak_rate},
        {"teardown_seconds", r.teardown_seconds}}},
      {"memory",
       {{"kernel_bytes_per_connection", std::round(r.kernel_bytes)},
        {"kernel", FitJson(r.kernel_fit)},
        {"slab", FitJson(r.slab_fit)},
        {"socket_slab", FitJson(r.socket_slab_fit)},
        {"slab_at_peak", SlabShareJson(r.slab_share)},
        {"watched", r.watched},
        {"user_bytes_per_connection_serve", std::round(r.user_bytes_serve * 10) / 10},
        {"user_bytes_per_connection_load", std::round(r.user_bytes_load * 10) / 10}}},
      {"prediction",
       {{"ceiling", r.predicted_ceiling},
        {"binding_id", r.predicted_binding_id},
        {"binding", r.predicted_binding},
        {"explain", r.predicted_explain},
        {"assumptions", r.predicted_notes},
        {"projected_by_measured_memory", r.projected_by_memory},
        {"limits", predicted}}},
      {"settings_changed", r.settings_changed},
      {"netns", r.netns_buckets == 0 ? nlohmann::json(nullptr)
                                      : nlohmann::json{{"own", true},
                                                       {"ehash_buckets", r.netns_buckets},
                                                       {"host_ehash_buckets", r.host_buckets}}},
      {"notes", r.notes},
      {"samples", samples},
  };
}

}  // namespace tcpmax::report

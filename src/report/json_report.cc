#include "report/json_report.h"

#include <cmath>

namespace tcpmax::report {
namespace {

nlohmann::json FitJson(const probe::LineFit& f) {
  if (!f.valid()) return nullptr;
  return {{"bytes_per_connection", std::round(f.slope)}, {"intercept_bytes", std::round(f.intercept)},
          {"r2", f.r2}, {"points", f.points}};
}

}  // namespace

nlohmann::json ProbeToJson(const probe::ProbeReport& r) {
  using nlohmann::json;
  json plan = {
      {"target", r.plan.target},
      {"server", r.plan.TargetSpec()},
      {"ports", r.plan.ports},
      {"sources", r.plan.SourceSpec()},
      {"source_count", r.plan.sources},
      {"per_pair", r.plan.per_pair},
      {"serve_engine", probe::EngineName(r.plan.serve_engine)},
      {"load_engine", probe::EngineName(r.plan.load_engine)},
      {"serve_processes", r.plan.serve_processes},
      {"load_processes", r.plan.load_processes},
      {"notes", r.plan.notes},
  };
  json samples = json::array();
  for (const auto& s : r.samples) {
    samples.push_back({{"t", s.t},
                       {"established", s.established},
                       {"opened", s.opened},
                       {"failed", s.failed},
                       {"rate", s.rate},
                       {"mem_used_bytes", s.mem_used},
                       {"kernel_bytes", s.kernel},
                       {"slab_bytes", s.slab},
                       {"rss_serve_bytes", s.rss_serve},
                       {"rss_load_bytes", s.rss_load},
                       {"file_nr", s.file_nr}});
  }
  json predicted = json::array();
  for (const auto& p : r.predicted) {
    predicted.push_back({{"limit", p.limit}, {"ceiling", p.ceiling}, {"binding", p.binding}});
  }
  return {
      {"schema", "tcpmax.probe/1"},
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
        {"verified_established", r.verified},
        {"target_reached", r.target_reached},
        {"stop_reason", r.stop_reason},
        {"stop_detail", r.stop_detail},
        {"binding_limit", r.binding_limit},
        {"remedy", r.remedy},
        {"errors", r.errors},
        {"climb_seconds", r.climb_seconds},
        {"mean_rate", r.mean_rate},
        {"peak_rate", r.peak_rate},
        {"teardown_seconds", r.teardown_seconds}}},
      {"memory",
       {{"kernel_bytes_per_connection", std::round(r.kernel_bytes)},
        {"kernel", FitJson(r.kernel_fit)},
        {"slab", FitJson(r.slab_fit)},
        {"user_bytes_per_connection_serve", std::round(r.user_bytes_serve * 10) / 10},
        {"user_bytes_per_connection_load", std::round(r.user_bytes_load * 10) / 10}}},
      {"prediction",
       {{"ceiling", r.predicted_ceiling},
        {"binding", r.predicted_binding},
        {"explain", r.predicted_explain},
        {"projected_by_measured_memory", r.projected_by_memory},
        {"limits", predicted}}},
      {"settings_changed", r.settings_changed},
      {"notes", r.notes},
      {"samples", samples},
  };
}

}  // namespace tcpmax::report

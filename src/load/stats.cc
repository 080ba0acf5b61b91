#include "load/stats.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <type_traits>

namespace tcpmax::load {
namespace {

static_assert(std::is_trivially_copyable_v<Histogram>);

std::string ToHex(const void* data, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

bool FromHex(const std::string& hex, void* data, size_t n) {
  if (hex.size() != n * 2) return false;
  auto* p = static_cast<uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return false;
    p[i] = static_cast<uint8_t>(v);
  }
  return true;
}

nlohmann::json Quantiles(const Histogram& h) {
  return {{"count", h.count()},
          {"p50", h.Quantile(0.50)},
          {"p90", h.Quantile(0.90)},
          {"p99", h.Quantile(0.99)},
          {"p999", h.Quantile(0.999)},
          {"max", h.max()},
          {"unit", "ns"}};
}

}  // namespace

void LoadStats::Merge(const LoadStats& o) {
  target += o.target;
  attempted += o.attempted;
  opened += o.opened;
  failed += o.failed;
  closed += o.closed;
  inflight += o.inflight;
  pings_sent += o.pings_sent;
  pongs += o.pongs;
  pongs_bad += o.pongs_bad;
  rss_bytes += o.rss_bytes;
  rss_start_bytes += o.rss_start_bytes;
  anon_bytes += o.anon_bytes;
  anon_start_bytes += o.anon_start_bytes;
  t = std::max(t, o.t);
  ramp_seconds = std::max(ramp_seconds, o.ramp_seconds);
  errors.Merge(o.errors);
  connect_ns.Merge(o.connect_ns);
  rtt_ns.Merge(o.rtt_ns);
}

nlohmann::json ToProgressJson(const LoadStats& s, double rate, const char* type) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [key, n] : s.errors.ByKey()) errors[key] = n;
  return {{"type", type},          {"t", s.t},         {"target", s.target},
          {"opened", s.opened},    {"held", s.held()}, {"failed", s.failed},
          {"rate", rate},          {"errors", errors}, {"rss_bytes", s.rss_bytes}};
}

nlohmann::json ToSummaryJson(const LoadStats& s) {
  nlohmann::json j = ToProgressJson(s, s.ramp_seconds > 0 ? double(s.opened) / s.ramp_seconds : 0, "summary");
  j["closed"] = s.closed;
  j["rss_start_bytes"] = s.rss_start_bytes;
  j["anon_bytes"] = s.anon_bytes;
  j["anon_start_bytes"] = s.anon_start_bytes;
  j["attempted"] = s.attempted;
  j["ramp_seconds"] = s.ramp_seconds;
  j["connect_time"] = Quantiles(s.connect_ns);
  j["pings_sent"] = s.pings_sent;
  j["pongs"] = s.pongs;
  j["pongs_bad"] = s.pongs_bad;
  j["rtt"] = Quantiles(s.rtt_ns);
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& [code, n] : s.errors.ByClass()) {
    detail.push_back({{"class", limits::ErrorKey(code)}, {"count", n}, {"meaning", limits::ErrorMeaning(code)},
                      {"remedy", limits::ErrorRemedy(code)}});
  }
  j["error_detail"] = detail;
  return j;
}

nlohmann::json ToShardJson(const LoadStats& s, bool final) {
  // Errors by raw errno so the parent keeps the exact errno per class.
  nlohmann::json by_errno = nlohmann::json::object();
  for (const auto& [code, n] : s.errors.ByErrno()) by_errno[std::to_string(code)] = n;
  nlohmann::json j = {{"type", final ? "final" : "shard"},
          {"target", s.target},
          {"attempted", s.attempted},
          {"opened", s.opened},
          {"failed", s.failed},
          {"closed", s.closed},
          {"inflight", s.inflight},
          {"pings_sent", s.pings_sent},
          {"pongs", s.pongs},
          {"pongs_bad", s.pongs_bad},
          {"rss_bytes", s.rss_bytes},
          {"rss_start_bytes", s.rss_start_bytes},
          {"anon_bytes", s.anon_bytes},
          {"anon_start_bytes", s.anon_start_bytes},
          {"t", s.t},
          {"ramp_seconds", s.ramp_seconds},
          {"errors_by_errno", by_errno}};
  if (final) {
    j["connect_hist"] = ToHex(&s.connect_ns, sizeof s.connect_ns);
    j["rtt_hist"] = ToHex(&s.rtt_ns, sizeof s.rtt_ns);
  }
  return j;
}

Result<LoadStats> FromShardJson(const nlohmann::json& j) {
  LoadStats s;
  try {
    s.target = j.at("target").get<uint64_t>();
    s.attempted = j.at("attempted").get<uint64_t>();
    s.opened = j.at("opened").get<uint64_t>();
    s.failed = j.at("failed").get<uint64_t>();
    s.closed = j.at("closed").get<uint64_t>();
    s.inflight = j.at("inflight").get<uint64_t>();
    s.pings_sent = j.at("pings_sent").get<uint64_t>();
    s.pongs = j.at("pongs").get<uint64_t>();
    s.pongs_bad = j.at("pongs_bad").get<uint64_t>();
    s.rss_bytes = j.at("rss_bytes").get<uint64_t>();
    s.rss_start_bytes = j.value("rss_start_bytes", uint64_t{0});
    s.anon_bytes = j.value("anon_bytes", uint64_t{0});
    s.anon_start_bytes = j.value("anon_start_bytes", uint64_t{0});
    s.t = j.at("t").get<double>();
    s.ramp_seconds = j.at("ramp_seconds").get<double>();
    for (const auto& [code, n] : j.at("errors_by_errno").items()) s.errors.Add(std::stoi(code), n.get<uint64_t>());
    if (j.contains("connect_hist") &&
        (!FromHex(j.at("connect_hist").get<std::string>(), &s.connect_ns, sizeof s.connect_ns) ||
         !FromHex(j.at("rtt_hist").get<std::string>(), &s.rtt_ns, sizeof s.rtt_ns))) {
      return PlainError("shard report: bad histogram");
    }
  } catch (const nlohmann::json::exception& e) {
    return PlainError(std::string("shard report: ") + e.what());
  }
  return s;
}

uint64_t ReadRssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

uint64_t ReadAnonRssBytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "RssAnon: %lu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

}  // namespace tcpmax::load

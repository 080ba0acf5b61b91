#include "dist/rank_result.h"

#include "limits/errno_class.h"

namespace tcpmax::dist {

void RankTotals::Add(const RankTotals& o) {
  target += o.target;
  attempted += o.attempted;
  opened += o.opened;
  failed += o.failed;
  closed += o.closed;
  held += o.held;
  pings_sent += o.pings_sent;
  pongs += o.pongs;
  pongs_bad += o.pongs_bad;
  for (const auto& [key, n] : o.errors) errors[key] += n;
  connect_ns.Merge(o.connect_ns);
  rtt_ns.Merge(o.rtt_ns);
  closed_after_ns.Merge(o.closed_after_ns);
}

RankTotals TotalsOf(const load::LoadStats& s, uint64_t held) {
  RankTotals t;
  t.target = s.target;
  t.attempted = s.attempted;
  t.opened = s.opened;
  t.failed = s.failed;
  t.closed = s.closed;
  t.held = held;
  t.pings_sent = s.pings_sent;
  t.pongs = s.pongs;
  t.pongs_bad = s.pongs_bad;
  for (const auto& [key, n] : s.errors.ByKey()) t.errors[key] += n;
  t.connect_ns = s.connect_ns;
  t.rtt_ns = s.rtt_ns;
  t.closed_after_ns = s.closed_after_ns;
  return t;
}

nlohmann::json HistogramToJson(const Histogram& h) {
  nlohmann::json buckets = nlohmann::json::array();
  for (const Histogram::Bucket& b : h.Buckets()) {
    buckets.push_back({b.index, Histogram::LowerOf(b.index), Histogram::UpperOf(b.index), b.count});
  }
  return {{"unit", "ns"}, {"sub_bucket_bits", Histogram::kSubBits}, {"count", h.count()}, {"sum", h.sum()},
          {"min", h.min()}, {"max", h.max()}, {"buckets", buckets}};
}

Result<Histogram> HistogramFromJson(const nlohmann::json& j) {
  try {
    if (j.at("sub_bucket_bits").get<int>() != Histogram::kSubBits) {
      return PlainError("histogram with sub_bucket_bits " + j.at("sub_bucket_bits").dump() + " (this build: " +
                        std::to_string(Histogram::kSubBits) + ")");
    }
    std::vector<Histogram::Bucket> buckets;
    for (const auto& b : j.at("buckets")) {
      int index = b.at(0).get<int>();
      if (index < 0 || index >= Histogram::kBuckets || b.at(1).get<uint64_t>() != Histogram::LowerOf(index) ||
          b.at(2).get<uint64_t>() != Histogram::UpperOf(index)) {
        return PlainError("histogram bucket " + b.dump() + " does not match this layout");
      }
      buckets.push_back({index, b.at(3).get<uint64_t>()});
    }
    auto h = Histogram::FromBuckets(buckets, j.at("count").get<uint64_t>(), j.at("sum").get<uint64_t>(),
                                    j.at("min").get<uint64_t>(), j.at("max").get<uint64_t>());
    if (!h) return PlainError("histogram buckets disagree with its count, min or max");
    return *h;
  } catch (const nlohmann::json::exception& e) {
    return PlainError(std::string("histogram: ") + e.what());
  }
}

namespace {

nlohmann::json TotalsToJson(const RankTotals& t) {
  return {{"target", t.target},         {"attempted", t.attempted}, {"opened", t.opened},
          {"failed", t.failed},         {"closed", t.closed},       {"held", t.held},
          {"pings_sent", t.pings_sent}, {"pongs", t.pongs},         {"pongs_bad", t.pongs_bad},
          {"errors", t.errors},         {"connect_ns", HistogramToJson(t.connect_ns)},
          {"rtt_ns", HistogramToJson(t.rtt_ns)},
          {"closed_after_ns", HistogramToJson(t.closed_after_ns)}};
}

Result<RankTotals> TotalsFromJson(const nlohmann::json& j) {
  RankTotals t;
  t.target = j.at("target").get<uint64_t>();
  t.attempted = j.at("attempted").get<uint64_t>();
  t.opened = j.at("opened").get<uint64_t>();
  t.failed = j.at("failed").get<uint64_t>();
  t.closed = j.at("closed").get<uint64_t>();
  t.held = j.at("held").get<uint64_t>();
  t.pings_sent = j.at("pings_sent").get<uint64_t>();
  t.pongs = j.at("pongs").get<uint64_t>();
  t.pongs_bad = j.at("pongs_bad").get<uint64_t>();
  t.errors = j.at("errors").get<std::map<std::string, uint64_t>>();
  auto c = HistogramFromJson(j.at("connect_ns"));
  if (!c) return PlainError("connect_ns: " + c.error().context);
  auto r = HistogramFromJson(j.at("rtt_ns"));
  if (!r) return PlainError("rtt_ns: " + r.error().context);
  auto a = HistogramFromJson(j.at("closed_after_ns"));
  if (!a) return PlainError("closed_after_ns: " + a.error().context);
  t.connect_ns = *c;
  t.rtt_ns = *r;
  t.closed_after_ns = *a;
  return t;
}

}  // namespace

nlohmann::json RankResultToJson(const RankResult& r) {
  nlohmann::json j = {{"schema", kRankSchema},
                      {"run_id", r.run_id},
                      {"rank", r.rank},
                      {"size", r.size},
                      {"launcher", r.launcher},
                      {"host", r.host},
                      {"netns", r.netns},
                      {"slice",
                       {{"connections", r.connections},
                        {"first_connection", r.first_connection},
                        {"total_connections", r.total_connections},
                        {"targets", r.targets},
                        {"source_first", r.source_first},
                        {"source_count", r.source_count},
                        {"source_total", r.source_total}}},
                      {"start_unix", r.start_unix},
                      {"start_at", r.start_at ? nlohmann::json(*r.start_at) : nlohmann::json()},
                      {"start_late_ns", r.start_late_ns},
                      {"clock_offset_ns", r.clock_offset_ns ? nlohmann::json(*r.clock_offset_ns) : nlohmann::json()},
                      {"ramp_seconds", r.ramp_seconds},
                      {"seconds", r.seconds},
                      {"interrupted", r.interrupted},
                      {"totals", TotalsToJson(r.totals)}};
  return j;
}

Result<RankResult> RankResultFromJson(const nlohmann::json& j) {
  try {
    if (!j.is_object() || j.value("schema", "") != kRankSchema) {
      return PlainError(std::string("not a ") + kRankSchema + " file (schema " +
                        (j.is_object() && j.contains("schema") ? j["schema"].dump() : "missing") + ")");
    }
    RankResult r;
    r.run_id = j.at("run_id").get<std::string>();
    if (auto ok = CheckRunId(r.run_id); !ok) return tl::unexpected(ok.error());
    r.rank = j.at("rank").get<int>();
    r.size = j.at("size").get<int>();
    if (r.size < 1 || r.rank < 0 || r.rank >= r.size) {
      return PlainError("rank " + std::to_string(r.rank) + " of size " + std::to_string(r.size));
    }
    r.launcher = j.at("launcher").get<std::string>();
    r.host = j.at("host").get<std::string>();
    r.netns = j.at("netns").get<std::string>();
    const auto& s = j.at("slice");
    r.connections = s.at("connections").get<uint64_t>();
    r.first_connection = s.at("first_connection").get<uint64_t>();
    r.total_connections = s.at("total_connections").get<uint64_t>();
    r.targets = s.at("targets").get<std::vector<std::string>>();
    r.source_first = s.at("source_first").get<uint64_t>();
    r.source_count = s.at("source_count").get<uint64_t>();
    r.source_total = s.at("source_total").get<uint64_t>();
    r.start_unix = j.at("start_unix").get<double>();
    if (!j.at("start_at").is_null()) r.start_at = j.at("start_at").get<std::string>();
    r.start_late_ns = j.at("start_late_ns").get<int64_t>();
    if (!j.at("clock_offset_ns").is_null()) r.clock_offset_ns = j.at("clock_offset_ns").get<int64_t>();
    r.ramp_seconds = j.at("ramp_seconds").get<double>();
    r.seconds = j.at("seconds").get<double>();
    r.interrupted = j.at("interrupted").get<bool>();
    auto totals = TotalsFromJson(j.at("totals"));
    if (!totals) return tl::unexpected(totals.error());
    r.totals = std::move(*totals);
    return r;
  } catch (const nlohmann::json::exception& e) {
    return PlainError(e.what());
  }
}

std::string RankFileName(const std::string& run_id, int rank) {
  return run_id + "-rank" + std::to_string(rank) + ".json";
}

Result<void> CheckRunId(const std::string& run_id) {
  bool ok = !run_id.empty() && run_id.size() <= 100 && run_id[0] != '.';
  for (char c : run_id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-');
  }
  if (!ok) return PlainError("run id '" + run_id.substr(0, 100) + "': expected 1-100 of A-Z a-z 0-9 . _ -");
  return {};
}

}  // namespace tcpmax::dist

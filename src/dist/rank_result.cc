#include "dist/rank_result.h"

#include "limits/errno_class.h"
#include "proto/proto_error.h"

namespace tcpmax::dist {

void RankSession::Add(const RankSession& o) {
  ready += o.ready;
  tls_done += o.tls_done;
  tls_resumed += o.tls_resumed;
  tls_parked += o.tls_parked;
  messages_sent += o.messages_sent;
  messages_received += o.messages_received;
  echo_ok += o.echo_ok;
  reopened += o.reopened;
  closes_sent += o.closes_sent;
  closes_answered += o.closes_answered;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  for (int i = 0; i < 5; ++i) http_status[i] += o.http_status[i];
  for (const auto& [key, n] : o.errors) errors[key] += n;
  tls_ns.Merge(o.tls_ns);
  ready_ns.Merge(o.ready_ns);
  message_rtt_ns.Merge(o.message_rtt_ns);
}

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
  if (o.session) {
    if (!session) session.emplace();
    session->Add(*o.session);
  }
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
  const load::SessionStats& ss = s.session;
  if (ss.ready + ss.pending + ss.tls_done + ss.messages_sent + ss.errors.Total() + ss.bytes_sent > 0) {
    RankSession& r = t.session.emplace();
    r.ready = ss.ready;
    r.tls_done = ss.tls_done;
    r.tls_resumed = ss.tls_resumed;
    r.tls_parked = ss.tls_parked;
    r.messages_sent = ss.messages_sent;
    r.messages_received = ss.messages_received;
    r.echo_ok = ss.echo_ok;
    r.reopened = ss.reopened;
    r.closes_sent = ss.closes_sent;
    r.closes_answered = ss.closes_answered;
    r.bytes_sent = ss.bytes_sent;
    r.bytes_received = ss.bytes_received;
    for (int i = 0; i < 5; ++i) r.http_status[i] = ss.http_status[i];
    for (const auto& [e, n] : ss.errors.Sorted()) r.errors[std::string(proto::Describe(e).key)] = n;
    r.tls_ns = ss.tls_ns;
    r.ready_ns = ss.ready_ns;
    r.message_rtt_ns = ss.message_rtt_ns;
  }
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

nlohmann::json SessionToJson(const RankSession& s) {
  return {{"ready", s.ready},
          {"tls_handshakes", s.tls_done},
          {"tls_resumed", s.tls_resumed},
          {"tls_parked", s.tls_parked},
          {"messages_sent", s.messages_sent},
          {"messages_received", s.messages_received},
          {"echo_ok", s.echo_ok},
          {"reopened", s.reopened},
          {"closes_sent", s.closes_sent},
          {"closes_answered", s.closes_answered},
          {"bytes_sent", s.bytes_sent},
          {"bytes_received", s.bytes_received},
          {"http_status", s.http_status},
          {"errors", s.errors},
          {"tls_ns", HistogramToJson(s.tls_ns)},
          {"ready_ns", HistogramToJson(s.ready_ns)},
          {"message_rtt_ns", HistogramToJson(s.message_rtt_ns)}};
}

Result<RankSession> SessionFromJson(const nlohmann::json& j) {
  RankSession s;
  s.ready = j.at("ready").get<uint64_t>();
  s.tls_done = j.at("tls_handshakes").get<uint64_t>();
  s.tls_resumed = j.at("tls_resumed").get<uint64_t>();
  s.tls_parked = j.at("tls_parked").get<uint64_t>();
  s.messages_sent = j.at("messages_sent").get<uint64_t>();
  s.messages_received = j.at("messages_received").get<uint64_t>();
  s.echo_ok = j.at("echo_ok").get<uint64_t>();
  s.reopened = j.at("reopened").get<uint64_t>();
  s.closes_sent = j.at("closes_sent").get<uint64_t>();
  s.closes_answered = j.at("closes_answered").get<uint64_t>();
  s.bytes_sent = j.at("bytes_sent").get<uint64_t>();
  s.bytes_received = j.at("bytes_received").get<uint64_t>();
  const nlohmann::json& h = j.at("http_status");
  if (!h.is_array() || h.size() != 5) return PlainError("session.http_status: expected 5 counts (1xx-5xx)");
  for (int i = 0; i < 5; ++i) s.http_status[i] = h.at(i).get<uint64_t>();
  s.errors = j.at("errors").get<std::map<std::string, uint64_t>>();
  for (auto [name, hist] : {std::pair{"tls_ns", &s.tls_ns}, std::pair{"ready_ns", &s.ready_ns},
                            std::pair{"message_rtt_ns", &s.message_rtt_ns}}) {
    auto parsed = HistogramFromJson(j.at(name));
    if (!parsed) return PlainError(std::string("session.") + name + ": " + parsed.error().context);
    *hist = *parsed;
  }
  return s;
}

nlohmann::json TotalsToJson(const RankTotals& t) {
  nlohmann::json j = {{"target", t.target},         {"attempted", t.attempted}, {"opened", t.opened},
          {"failed", t.failed},         {"closed", t.closed},       {"held", t.held},
          {"pings_sent", t.pings_sent}, {"pongs", t.pongs},         {"pongs_bad", t.pongs_bad},
          {"errors", t.errors},         {"connect_ns", HistogramToJson(t.connect_ns)},
          {"rtt_ns", HistogramToJson(t.rtt_ns)},
          {"closed_after_ns", HistogramToJson(t.closed_after_ns)}};
  if (t.session) j["session"] = SessionToJson(*t.session);
  return j;
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
  if (j.contains("session")) {
    auto s = SessionFromJson(j.at("session"));
    if (!s) return tl::unexpected(s.error());
    t.session = std::move(*s);
  }
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

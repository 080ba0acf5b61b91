#include "sys/shard_messages.h"

#include <cstring>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace tcpmax::sys {
namespace {

static_assert(std::is_trivially_copyable_v<Histogram>);

std::string ToHex(const Histogram& h) {
  static const char kDigits[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const uint8_t*>(&h);
  std::string out;
  out.reserve(sizeof h * 2);
  for (size_t i = 0; i < sizeof h; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<Histogram> FromHex(const std::string& hex) {
  Histogram h;
  if (hex.size() != sizeof h * 2) return std::nullopt;
  auto* p = reinterpret_cast<uint8_t*>(&h);
  for (size_t i = 0; i < sizeof h; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    p[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

nlohmann::json EncodeSession(const ShardSession& s) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& [code, n] : s.errors) errors.push_back({code, n});
  nlohmann::json j = {{"ready", s.ready},
                      {"pending", s.pending},
                      {"tls_done", s.tls_done},
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
                      {"errors", errors}};
  if (s.tls_ns) j["tls_hist"] = ToHex(*s.tls_ns);
  if (s.ready_ns) j["ready_hist"] = ToHex(*s.ready_ns);
  if (s.message_rtt_ns) j["message_rtt_hist"] = ToHex(*s.message_rtt_ns);
  return j;
}

// Throws nlohmann::json::exception on a missing key (the caller catches).
Result<ShardSession> DecodeSession(const nlohmann::json& j) {
  ShardSession s;
  s.ready = j.at("ready").get<uint64_t>();
  s.pending = j.at("pending").get<uint64_t>();
  s.tls_done = j.at("tls_done").get<uint64_t>();
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
  const auto& status = j.at("http_status");
  if (!status.is_array() || status.size() != 5) return PlainError("shard report: bad session http_status");
  for (size_t i = 0; i < 5; ++i) s.http_status[i] = status[i].get<uint64_t>();
  for (const auto& e : j.at("errors")) s.errors.emplace_back(e.at(0).get<int>(), e.at(1).get<uint64_t>());
  std::pair<const char*, std::optional<Histogram>*> hists[] = {
      {"tls_hist", &s.tls_ns}, {"ready_hist", &s.ready_ns}, {"message_rtt_hist", &s.message_rtt_ns}};
  for (auto& [key, slot] : hists) {
    if (!j.contains(key)) continue;
    auto h = FromHex(j[key].get<std::string>());
    if (!h) return PlainError(std::string("shard report: bad session ") + key);
    *slot = *h;
  }
  return s;
}

constexpr ShardKind kKinds[] = {ShardKind::kReady, ShardKind::kProgress, ShardKind::kFinal, ShardKind::kFailed};

}  // namespace

std::string_view ShardKindName(ShardKind k) {
  switch (k) {
    case ShardKind::kReady: return "ready";
    case ShardKind::kProgress: return "progress";
    case ShardKind::kFinal: return "final";
    case ShardKind::kFailed: return "failed";
  }
  return "progress";
}

std::string EncodeReport(const ShardReport& r) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& [code, n] : r.errors) errors.push_back({code, n});
  nlohmann::json j = {{"v", kShardProtocol},
                      {"kind", ShardKindName(r.kind)},
                      {"t", r.t},
                      {"target", r.target},
                      {"attempted", r.attempted},
                      {"opened", r.opened},
                      {"failed", r.failed},
                      {"closed", r.closed},
                      {"inflight", r.inflight},
                      {"held", r.held},
                      {"pings_sent", r.pings_sent},
                      {"pongs", r.pongs},
                      {"pongs_bad", r.pongs_bad},
                      {"rss_bytes", r.rss_bytes},
                      {"rss_start_bytes", r.rss_start_bytes},
                      {"anon_bytes", r.anon_bytes},
                      {"anon_start_bytes", r.anon_start_bytes},
                      {"ramp_seconds", r.ramp_seconds},
                      {"opening_stopped", r.opening_stopped},
                      {"answers", r.answers},
                      {"errors", errors}};
  if (r.connect_ns) j["connect_hist"] = ToHex(*r.connect_ns);
  if (r.rtt_ns) j["rtt_hist"] = ToHex(*r.rtt_ns);
  if (r.closed_after_ns) j["closed_after_hist"] = ToHex(*r.closed_after_ns);
  if (!r.error.empty()) j["error"] = r.error;
  if (r.session) j["session"] = EncodeSession(*r.session);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ShardReport> DecodeReport(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return PlainError("shard report: not a JSON object");
  ShardReport r;
  try {
    if (j.at("v").get<int>() != kShardProtocol) {
      return PlainError("shard report: protocol " + std::to_string(j.at("v").get<int>()) + ", expected " +
                        std::to_string(kShardProtocol));
    }
    std::string kind = j.at("kind").get<std::string>();
    bool known = false;
    for (ShardKind k : kKinds) {
      if (ShardKindName(k) == kind) {
        r.kind = k;
        known = true;
      }
    }
    if (!known) return PlainError("shard report: unknown kind '" + kind + "'");
    r.t = j.at("t").get<double>();
    r.target = j.at("target").get<uint64_t>();
    r.attempted = j.at("attempted").get<uint64_t>();
    r.opened = j.at("opened").get<uint64_t>();
    r.failed = j.at("failed").get<uint64_t>();
    r.closed = j.at("closed").get<uint64_t>();
    r.inflight = j.at("inflight").get<uint64_t>();
    r.held = j.at("held").get<uint64_t>();
    r.pings_sent = j.at("pings_sent").get<uint64_t>();
    r.pongs = j.at("pongs").get<uint64_t>();
    r.pongs_bad = j.at("pongs_bad").get<uint64_t>();
    r.rss_bytes = j.at("rss_bytes").get<uint64_t>();
    r.rss_start_bytes = j.at("rss_start_bytes").get<uint64_t>();
    r.anon_bytes = j.at("anon_bytes").get<uint64_t>();
    r.anon_start_bytes = j.at("anon_start_bytes").get<uint64_t>();
    r.ramp_seconds = j.at("ramp_seconds").get<double>();
    r.opening_stopped = j.at("opening_stopped").get<bool>();
    r.answers = j.at("answers").get<uint64_t>();
    for (const auto& e : j.at("errors")) r.errors.emplace_back(e.at(0).get<int>(), e.at(1).get<uint64_t>());
    const std::pair<const char*, std::optional<Histogram>*> hists[] = {
        {"connect_hist", &r.connect_ns}, {"rtt_hist", &r.rtt_ns}, {"closed_after_hist", &r.closed_after_ns}};
    for (const auto& [key, into] : hists) {
      if (!j.contains(key)) continue;
      auto h = FromHex(j[key].get<std::string>());
      if (!h) return PlainError(std::string("shard report: bad ") + key);
      *into = *h;
    }
    r.error = j.value("error", std::string());
    if (j.contains("session")) {
      auto session = DecodeSession(j["session"]);
      if (!session) return tl::unexpected(session.error());
      r.session = std::move(*session);
    }
  } catch (const nlohmann::json::exception& e) {
    return PlainError(std::string("shard report: ") + e.what());
  }
  return r;
}

std::optional<ShardCommand> DecodeCommand(char byte) {
  switch (byte) {
    case static_cast<char>(ShardCommand::kStopOpening): return ShardCommand::kStopOpening;
    case static_cast<char>(ShardCommand::kStop): return ShardCommand::kStop;
    case static_cast<char>(ShardCommand::kReport): return ShardCommand::kReport;
    case static_cast<char>(ShardCommand::kSlower): return ShardCommand::kSlower;
    case static_cast<char>(ShardCommand::kFaster): return ShardCommand::kFaster;
  }
  return std::nullopt;
}

}  // namespace tcpmax::sys

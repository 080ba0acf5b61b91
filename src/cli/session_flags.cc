#include "cli/session_flags.h"

#include <algorithm>

#include "cli/cli_util.h"
#include "core/units.h"
#include "sys/reader.h"

namespace tcpmax::cli {
namespace {

// TEXT, or @FILE for the file's bytes.
Result<std::string> MessageText(std::string_view flag, const std::string& value) {
  if (value.empty() || value[0] != '@') return value;
  auto text = sys::ReadWholeFile(value.substr(1));
  if (!text) return PlainError(std::string(flag) + " " + value + ": " + text.error().ToString());
  if (text->empty()) return PlainError(std::string(flag) + " " + value + ": the file is empty");
  return std::move(*text);
}

Result<uint64_t> DurationFlag(std::string_view flag, const std::string& text, uint64_t min_ns) {
  auto d = ParseDuration(text);
  if (!d || static_cast<uint64_t>(d->count()) < min_ns) {
    return PlainError(std::string(flag) + " '" + text + "': expected a duration like 30s or 500ms");
  }
  return static_cast<uint64_t>(d->count());
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

// A per-connection rate "R/s" (0.001/s to 1000/s) as the interval between sends.
Result<uint64_t> PerConnectionInterval(const std::string& flag, const std::string& text) {
  if (text.size() < 3 || text.substr(text.size() - 2) != "/s") {
    return PlainError(flag + " '" + text + "': give the unit, e.g. 1/s");
  }
  auto r = ParseRate(text);
  if (!r || *r <= 0 || *r > 1000) return PlainError(flag + " '" + text + "': expected 0.001/s to 1000/s per connection");
  return static_cast<uint64_t>(1e9 / *r);
}

Result<void> ValidateTls(const SessionFlags& f, load::SessionOptions& o) {
  bool any = !f.sni.empty() || !f.alpn.empty() || !f.ca.empty() || !f.tls_version.empty() || f.insecure ||
             f.release_buffers || f.no_resume || f.park;
  if (!f.tls) {
    if (any) return PlainError("--sni, --alpn, --ca, --insecure, --tls-version, --tls-release-buffers, "
                               "--tls-park and --no-tls-resume need --tls");
    return {};
  }
  if (!f.ca.empty() && f.insecure) return PlainError("--ca and --insecure: give one of them");
  proto::TlsConfig& c = o.tls_config;
  c.server = false;
  c.sni = f.sni;
  c.alpn = SplitList(f.alpn);
  c.ca_file = f.ca;
  c.insecure = f.insecure;
  c.release_buffers = f.release_buffers;
  c.resume = !f.no_resume;
  c.park = f.park;
  if (!f.tls_version.empty()) {
    int v = proto::ParseTlsVersion(f.tls_version);
    if (v == 0) return PlainError("--tls-version '" + f.tls_version + "': expected 1.2 or 1.3");
    c.min_version = c.max_version = v;
  }
  if (!f.ca.empty()) {
    auto readable = sys::ReadWholeFile(f.ca);
    if (!readable) return PlainError("--ca " + f.ca + ": " + readable.error().ToString());
  }
  auto ctx = proto::TlsContext::Create(c);  // the same set-up the workers do
  if (!ctx) return PlainError("--tls: " + ctx.error().context);
  o.tls = true;
  return {};
}

}  // namespace

void AddSessionFlags(CLI::App& app, SessionFlags& f) {
  app.add_option("--proto", f.proto,
                 "what to speak once connected: raw (bytes of --message, or nothing), http (HTTP/1.1 keep-alive "
                 "GETs of --path), ws (RFC 6455 WebSocket: upgrade, text messages, ping frames with --ping), mqtt "
                 "(MQTT 3.1.1: CONNECT, PINGREQ every --ping or --mqtt-keepalive, PUBLISH to its own subscribed "
                 "topic). Any of them runs on either engine: auto picks epoll, --engine uring runs them on io_uring direct "
                 "descriptors (one process, fed from completion buffers)")
      ->check(Values(Names(proto::kProtos, proto::ProtoName)));
  app.add_flag("--tls", f.tls, "TLS (OpenSSL) under the protocol: handshake timed, alerts classified");
  app.add_option("--sni", f.sni, "TLS server name sent, and checked against the certificate unless --insecure");
  app.add_option("--alpn", f.alpn, "TLS ALPN protocols offered, comma-separated, e.g. http/1.1");
  app.add_option("--ca", f.ca, "PEM file of the CAs that verify the server (default: the system's)");
  app.add_flag("--insecure", f.insecure, "do not verify the server's certificate");
  app.add_option("--tls-version", f.tls_version, "only this TLS version: 1.2 or 1.3")->check(Values({"1.2", "1.3"}));
  app.add_flag("--tls-release-buffers", f.release_buffers,
               "SSL_MODE_RELEASE_BUFFERS: free OpenSSL's buffers of idle connections");
  app.add_flag("--tls-park", f.park,
               "TLS 1.3: park idle sessions: once the handshake is done (and the session ticket stored), free OpenSSL's SSL object and keep only the traffic keys and sequence numbers (about 0.5 KB instead of 13-48 KB); records are then sealed and opened by tcpmax (AES-GCM, ChaCha20-Poly1305; KeyUpdate applied). TLS 1.2 sessions are not parked");
  app.add_flag("--no-tls-resume", f.no_resume, "full handshakes only (no session resumption)");
  app.add_option("--first-message", f.first_message,
                 "TEXT or @FILE sent once when a session is ready (raw, ws, mqtt)");
  app.add_option("--message", f.message,
                 "TEXT or @FILE sent every --message-rate interval (raw: echo expected; ws: text frame, echo "
                 "checked; mqtt: PUBLISH to the session's topic, delivered back)");
  app.add_option("--message-rate", f.message_rate,
                 "messages per connection per second, with its unit, e.g. 1/s or 0.2/s (raw, ws, mqtt)");
  app.add_option("--request-rate", f.request_rate,
                 "--proto http: keep-alive GETs of --path per connection per second, with its unit, e.g. 1/s; "
                 "each response timed and its status class counted");
  app.add_option("--lifetime", f.lifetime, "close each session after this long and open a new one (churn)");
  app.add_option("--idle-timeout", f.idle_timeout,
                 "count and close a session that hears nothing from the server for this long");
  app.add_option("--path", f.path, "HTTP request target and WebSocket upgrade path");
  app.add_option("--host", f.host, "Host header (default: the target ADDR:PORT)");
  app.add_option("--mqtt-keepalive", f.mqtt_keepalive, "MQTT keepalive sent in CONNECT (whole seconds)");
}

Result<load::SessionOptions> ValidateSessionFlags(const SessionFlags& f, uint64_t* ping_ns) {
  load::SessionOptions o;
  auto p = proto::ParseProto(f.proto);
  if (!p) return PlainError("--proto '" + f.proto + "': expected raw, http, ws or mqtt");
  o.proto = *p;
  auto tls = ValidateTls(f, o);
  if (!tls) return tl::unexpected(tls.error());
  auto first = MessageText("--first-message", f.first_message);
  if (!first) return tl::unexpected(first.error());
  auto message = MessageText("--message", f.message);
  if (!message) return tl::unexpected(message.error());
  o.first_message = std::move(*first);
  o.message = std::move(*message);
  bool http = o.proto == proto::Proto::kHttp;
  if (http && (!o.message.empty() || !o.first_message.empty())) {
    return PlainError("--message/--first-message: not for --proto http (each message is a GET of --path)");
  }
  if (!f.request_rate.empty() && !http) {
    return PlainError("--request-rate: for --proto http (GETs of --path); other protocols send --message at "
                      "--message-rate");
  }
  if (http && !f.message_rate.empty()) {
    return PlainError("--message-rate: --proto http sends requests; give --request-rate instead");
  }
  if (!f.request_rate.empty()) {
    auto interval = PerConnectionInterval("--request-rate", f.request_rate);
    if (!interval) return tl::unexpected(interval.error());
    o.message_interval_ns = *interval;
  } else if (!f.message_rate.empty()) {
    auto interval = PerConnectionInterval("--message-rate", f.message_rate);
    if (!interval) return tl::unexpected(interval.error());
    o.message_interval_ns = *interval;
    if (o.message.empty()) return PlainError("--message-rate needs --message (what to send)");
  } else if (!o.message.empty()) {
    return PlainError("--message needs --message-rate (how often), e.g. --message-rate 1/s");
  }
  if (o.message.size() > (1u << 20)) return PlainError("--message: at most 1 MiB");
  if (!f.lifetime.empty()) {
    auto d = DurationFlag("--lifetime", f.lifetime, 1'000'000);
    if (!d) return tl::unexpected(d.error());
    o.lifetime_ns = *d;
  }
  if (!f.idle_timeout.empty()) {
    auto d = DurationFlag("--idle-timeout", f.idle_timeout, 10'000'000);
    if (!d) return tl::unexpected(d.error());
    o.idle_timeout_ns = *d;
  }
  auto keepalive = DurationFlag("--mqtt-keepalive", f.mqtt_keepalive, 1'000'000'000);
  if (!keepalive || *keepalive > 65535ull * 1'000'000'000ull) {
    return PlainError("--mqtt-keepalive '" + f.mqtt_keepalive + "': expected 1s to 18h");
  }
  o.mqtt_keepalive_s = static_cast<uint16_t>(*keepalive / 1'000'000'000ull);
  if (f.path.empty() || f.path[0] != '/') return PlainError("--path '" + f.path + "': must start with /");
  o.path = f.path;
  o.host = f.host;
  if (*ping_ns > 0 && o.active() && (o.proto == proto::Proto::kRaw || http)) {
    return PlainError("--ping: with --proto raw/http over the session layer, time messages with --message-rate "
                      "(http: --request-rate)");
  }
  if (o.proto == proto::Proto::kMqtt && *ping_ns == 0) *ping_ns = uint64_t{o.mqtt_keepalive_s} * 1'000'000'000ull;
  return o;
}

}  // namespace tcpmax::cli

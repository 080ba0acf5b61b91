#include "proto/proto_error.h"

#include <algorithm>

namespace tcpmax::proto {
namespace {

constexpr ProtoErrorInfo kInfo[kProtoErrorCount] = {
    {"http_4xx", "the server refused the request (4xx)", "check --message (method, path, Host) against the server's routes"},
    {"http_5xx", "the server failed or is overloaded (5xx)", "read the server's error log; lower --rate, --message-rate or --request-rate"},
    {"http_malformed", "the response broke HTTP/1.1 framing (RFC 9112)", "check that the target speaks HTTP/1.1 (not TLS without --tls, not HTTP/2 only)"},
    {"http_closed_mid_response", "the server closed the connection inside a response", "look for the server's per-connection request limit or timeouts (e.g. nginx keepalive_requests)"},
    {"ws_upgrade_refused", "the server answered the upgrade with a status other than 101", "check the path and that the endpoint speaks WebSocket"},
    {"ws_bad_accept", "Sec-WebSocket-Accept does not match the key sent (RFC 6455 4.1)", "the peer is not a conforming WebSocket server (or a proxy rewrote the answer)"},
    {"ws_malformed", "a frame broke RFC 6455 section 5 (reserved bits, masking, lengths, control frames)", "check that the server speaks RFC 6455 without extensions"},
    {"ws_close_1000", "the server closed the session normally (1000)", "the server ends sessions by itself: look for its session lifetime"},
    {"ws_close_1001", "the server is going away (1001): shutdown or navigation", "the server restarted or drains; retry later"},
    {"ws_close_1002", "the server saw a protocol error (1002)", "check --message and the framing options against the server"},
    {"ws_close_1003", "the server cannot accept this data type (1003)", "send text or binary as the server expects"},
    {"ws_close_1006", "the connection ended without a close frame (1006)", "look at the server's limits (fds, memory) and timeouts"},
    {"ws_close_1008", "the server closed for a policy violation (1008)", "check authentication, origin and rate rules on the server"},
    {"ws_close_1009", "the message was too big for the server (1009)", "send a smaller --message"},
    {"ws_close_1011", "the server hit an internal error (1011)", "read the server's error log"},
    {"ws_close_1012", "the server is restarting (1012)", "retry after the restart"},
    {"ws_close_1013", "the server is overloaded: try again later (1013)", "lower --rate or the number of sessions"},
    {"ws_close_other", "the server closed with another close code", "look up the code in the server's documentation"},
    {"ws_echo_mismatch", "the echoed message differed from the one sent", "the peer is not an echo server, or it changed the message"},
    {"mqtt_refused_protocol", "CONNACK 1: the broker does not accept MQTT 3.1.1", "enable protocol level 4 on the broker"},
    {"mqtt_refused_identifier", "CONNACK 2: the client identifier was rejected", "the broker restricts client ids (length or characters)"},
    {"mqtt_server_unavailable", "CONNACK 3: the broker is unavailable", "check the broker's state and its connection limits (max_connections)"},
    {"mqtt_bad_credentials", "CONNACK 4: bad user name or password", "configure the broker to allow anonymous clients or give credentials"},
    {"mqtt_not_authorized", "CONNACK 5: the client is not authorized", "grant the client access in the broker's ACL"},
    {"mqtt_malformed", "a packet from the broker broke MQTT 3.1.1 sections 2-3", "check that the target is an MQTT 3.1.1 broker (not TLS without --tls)"},
    {"mqtt_no_pingresp", "a PINGREQ went unanswered within the keepalive", "the broker is overloaded or dropped the session; lower load"},
    {"tls_verify_failed", "the server's certificate did not verify", "give the issuing CA with --ca FILE, or --insecure for a test server"},
    {"tls_alert_handshake_failure", "the peer sent handshake_failure (40): no common cipher, group or version", "align --tls versions and ciphers with the server"},
    {"tls_alert_bad_certificate", "the peer rejected a certificate (alerts 42-46)", "check the certificate chain, dates and usage"},
    {"tls_alert_unknown_ca", "the peer does not know the CA (48)", "give the server the CA, or use a certificate it trusts"},
    {"tls_alert_protocol_version", "the peer refused the TLS version (70)", "allow a version the server offers"},
    {"tls_alert_unrecognized_name", "the peer does not serve this SNI name (112)", "set --sni to a name the server has a certificate for"},
    {"tls_alert_no_application_protocol", "the peer supports no protocol of --alpn (120)", "set --alpn to what the server offers (e.g. http/1.1)"},
    {"tls_alert_other", "the peer sent another TLS alert", "read the alert name in the server's log"},
    {"tls_other", "TLS failed without an alert (bad record, EOF during the handshake)", "check that the target speaks TLS on this port"},
    {"tls_alpn_mismatch", "the server selected no protocol of --alpn", "set --alpn to what the server offers, or leave it out"},
    {"idle_timeout", "nothing was heard from the peer within --idle-timeout", "the peer stalled or dropped the session silently; check its timeouts"},
    {"send_blocked", "the socket's send buffer refused bytes a session had to send (io_uring: 256 KiB already waited behind it): the peer is not reading", "lower --message-rate or the message size, or see why the server stopped reading"},
    {"tls_record", "a parked TLS session (--tls-park) met a record it could not open: bad MAC, or a post-handshake message other than NewSessionTicket and KeyUpdate", "run without --tls-park against this peer (OpenSSL then keeps the whole session)"},
};

}  // namespace

const ProtoErrorInfo& Describe(ProtoError e) { return kInfo[static_cast<size_t>(e)]; }

ProtoError WsCloseError(uint16_t code) {
  switch (code) {
    case 1000: return ProtoError::kWsClose1000;
    case 1001: return ProtoError::kWsClose1001;
    case 1002: return ProtoError::kWsClose1002;
    case 1003: return ProtoError::kWsClose1003;
    case 1006: return ProtoError::kWsClose1006;
    case 1008: return ProtoError::kWsClose1008;
    case 1009: return ProtoError::kWsClose1009;
    case 1011: return ProtoError::kWsClose1011;
    case 1012: return ProtoError::kWsClose1012;
    case 1013: return ProtoError::kWsClose1013;
    default: return ProtoError::kWsCloseOther;
  }
}

ProtoError TlsAlertError(int alert) {
  switch (alert) {
    case 40: return ProtoError::kTlsAlertHandshake;
    case 42: case 43: case 44: case 45: case 46: return ProtoError::kTlsAlertBadCert;
    case 48: return ProtoError::kTlsAlertUnknownCa;
    case 70: return ProtoError::kTlsAlertVersion;
    case 112: return ProtoError::kTlsAlertName;
    case 120: return ProtoError::kTlsAlertAlpn;
    default: return ProtoError::kTlsAlertOther;
  }
}

ProtoError ConnackError(uint8_t code) {
  switch (code) {
    case 1: return ProtoError::kMqttRefusedProtocol;
    case 2: return ProtoError::kMqttRefusedId;
    case 3: return ProtoError::kMqttUnavailable;
    case 4: return ProtoError::kMqttBadCredentials;
    case 5: return ProtoError::kMqttNotAuthorized;
    default: return ProtoError::kMqttMalformed;
  }
}

ProtoError HttpStatusError(int status) {
  if (status >= 500) return ProtoError::kHttp5xx;
  if (status >= 400) return ProtoError::kHttp4xx;
  return ProtoError::kCount;
}

void ProtoErrorCounts::Merge(const ProtoErrorCounts& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
}

uint64_t ProtoErrorCounts::Total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

std::vector<std::pair<ProtoError, uint64_t>> ProtoErrorCounts::Sorted() const {
  std::vector<std::pair<ProtoError, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) out.emplace_back(static_cast<ProtoError>(i), counts_[i]);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

ProtoError ProtoErrorCounts::FromKey(std::string_view key) {
  for (int i = 0; i < kProtoErrorCount; ++i) {
    if (kInfo[i].key == key) return static_cast<ProtoError>(i);
  }
  return ProtoError::kCount;
}

}  // namespace tcpmax::proto

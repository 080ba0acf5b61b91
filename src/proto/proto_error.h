// Protocol-level failures of a session, one stable key each, with what the
// peer is telling us and what to change: HTTP status classes, WebSocket close
// codes, MQTT CONNACK return codes, TLS alerts and verification, malformed
// input from the peer, and silence (idle timeout). The errno-level failures
// of the socket stay in limits/errno_class.h; these sit above them.
//
// ProtoErrorCounts is a fixed array (no allocation when counting): each load
// worker owns one and the reporter merges them.
// Thread-safety: the functions are pure; ProtoErrorCounts has no locking.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace tcpmax::proto {

enum class ProtoError : uint8_t {
  // HTTP/1.1 (RFC 9110 section 15)
  kHttp4xx,
  kHttp5xx,
  kHttpMalformed,       // status line, header or chunk framing we cannot parse
  kHttpClosedMidResponse,
  // WebSocket (RFC 6455)
  kWsUpgradeRefused,    // the upgrade answer was not 101
  kWsBadAccept,         // Sec-WebSocket-Accept does not match our key (4.1)
  kWsMalformed,         // a frame breaking section 5 (reserved bits, masking, lengths)
  kWsClose1000,         // normal closure (7.4.1)
  kWsClose1001,         // going away
  kWsClose1002,         // protocol error
  kWsClose1003,         // unsupported data
  kWsClose1006,         // closed without a close frame
  kWsClose1008,         // policy violation
  kWsClose1009,         // message too big
  kWsClose1011,         // server error
  kWsClose1012,         // service restart
  kWsClose1013,         // try again later
  kWsCloseOther,
  kWsEchoMismatch,      // the echoed message differs from what was sent
  // MQTT 3.1.1 (section 3.2.2.3)
  kMqttRefusedProtocol, // CONNACK 1
  kMqttRefusedId,       // CONNACK 2
  kMqttUnavailable,     // CONNACK 3
  kMqttBadCredentials,  // CONNACK 4
  kMqttNotAuthorized,   // CONNACK 5
  kMqttMalformed,       // a packet breaking section 2 or 3 (e.g. a CONNACK of the wrong length)
  kMqttNoPingResp,      // a PINGREQ unanswered within the keepalive
  // TLS
  kTlsVerifyFailed,     // the peer's certificate did not verify
  kTlsAlertHandshake,   // alert handshake_failure (40)
  kTlsAlertBadCert,     // alerts bad_certificate/unsupported/revoked/expired/unknown (42-46)
  kTlsAlertUnknownCa,   // alert unknown_ca (48)
  kTlsAlertVersion,     // alert protocol_version (70)
  kTlsAlertName,        // alert unrecognized_name (112)
  kTlsAlertAlpn,        // alert no_application_protocol (120)
  kTlsAlertOther,       // any other alert received
  kTlsOther,            // a TLS failure with no alert (decode error, EOF in handshake)
  kTlsAlpnMismatch,     // the server picked no protocol of --alpn
  // Any protocol
  kIdleTimeout,         // nothing heard within --idle-timeout
  kSendBlocked,         // the socket buffer refused bytes a session had to send
  kTlsRecord,           // the parked TLS record layer failed (bad MAC, an unexpected message)
  kCount
};
inline constexpr int kProtoErrorCount = static_cast<int>(ProtoError::kCount);

struct ProtoErrorInfo {
  std::string_view key;      // "ws_close_1006": the JSON key
  std::string_view meaning;  // one sentence
  std::string_view remedy;   // one sentence
};

const ProtoErrorInfo& Describe(ProtoError e);
// The error for a WebSocket close code (kWsCloseOther for unlisted codes).
ProtoError WsCloseError(uint16_t code);
// The error for a received TLS alert description (RFC 8446 section 6).
ProtoError TlsAlertError(int alert);
// The error for a CONNACK return code 1-5 (kMqttMalformed otherwise).
ProtoError ConnackError(uint8_t code);
// The error for an HTTP status of 400 and above (nullopt-like kCount below).
ProtoError HttpStatusError(int status);

class ProtoErrorCounts {
 public:
  void Record(ProtoError e) { ++counts_[static_cast<size_t>(e)]; }
  void Add(ProtoError e, uint64_t n) { counts_[static_cast<size_t>(e)] += n; }
  uint64_t Get(ProtoError e) const { return counts_[static_cast<size_t>(e)]; }
  void Merge(const ProtoErrorCounts& other);
  uint64_t Total() const;
  // (error, count) for each non-zero error, largest first.
  std::vector<std::pair<ProtoError, uint64_t>> Sorted() const;
  // The inverse of Describe(e).key; kCount when unknown.
  static ProtoError FromKey(std::string_view key);

 private:
  std::array<uint64_t, kProtoErrorCount> counts_{};
};

}  // namespace tcpmax::proto

// Sessions on load connections: what `tcpmax load --proto/--tls/--message`
// speaks once a connect completes, driven by either connector engine.
//
// SessionOptions (from the CLI) say which protocol, whether over TLS, what
// to send and how often; SessionDriver (one per worker) runs every session of
// that worker: TLS handshake, the protocol's opening (WebSocket upgrade,
// MQTT CONNECT/CONNACK, a first HTTP request), messages at --message-rate
// with their round trips timed and echoes checked, pings (WebSocket ping
// frames, MQTT PINGREQ), idle-timeout detection and --lifetime churn.
// The byte-level protocol work is src/proto's; this file owns the figures
// (SessionStats) and what goes out, through a SessionTransport: the epoll
// engine's writes the socket at once (a connection is its descriptor), the
// io_uring engine's queues a send on a direct descriptor. Bytes come in
// through OnReadable (epoll: reads the descriptor until EAGAIN) or OnBytes
// (io_uring: a completion's buffer).
//
// Memory: a ClientSession per connection (see sizeof in the tests), no
// allocation per connection or per message beyond OpenSSL's own objects and
// a rare split control frame; scratch buffers are the driver's.
// Threading: a driver and its sessions belong to one worker thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <sys/types.h>

#include "core/error.h"
#include "load/session_stats.h"
#include "proto/http1.h"
#include "proto/kind.h"
#include "proto/mqtt.h"
#include "proto/proto_error.h"
#include "proto/tls.h"
#include "proto/ws.h"

namespace tcpmax::load {

struct LoadStats;

struct SessionOptions {
  proto::Proto proto = proto::Proto::kRaw;
  bool tls = false;
  proto::TlsConfig tls_config;           // client side; used when tls
  std::string host;                      // Host header / ws upgrade host ("" : the target address)
  std::string path = "/";                // HTTP request target and WebSocket upgrade path
  std::string first_message;             // sent once when the session is ready (raw, ws, mqtt)
  std::string message;                   // sent every message interval
  uint64_t message_interval_ns = 0;      // 0: no messages (from --message-rate R/s per connection)
  uint64_t lifetime_ns = 0;              // 0: hold; else close and reopen after this long
  uint64_t idle_timeout_ns = 0;          // 0: off; else close a session silent for this long
  uint16_t mqtt_keepalive_s = 60;
  // True when anything here needs the session layer (otherwise the plain
  // connector path runs: connect, hold, --ping).
  bool active() const {
    return proto != proto::Proto::kRaw || tls || !first_message.empty() || message_interval_ns > 0 ||
           lifetime_ns > 0 || idle_timeout_ns > 0;
  }
};

enum class Phase : uint8_t { kIdle, kTls, kOpening, kReady };

// Where a driver's bytes go. A connection is named by a handle the engine
// chooses (epoll: the descriptor; io_uring: ring and slot).
class SessionTransport {
 public:
  virtual ~SessionTransport() = default;
  // Sends `bytes` on connection `conn`: how many went, or -errno (-EAGAIN: none could).
  virtual ssize_t Send(uint64_t conn, std::string_view bytes) = 0;
};

// One connection's session state. Movable; owned by the driver's table.
struct ClientSession {
  uint64_t index = 0;             // the run's connection index (for reopening)
  uint64_t opened_ns = 0;         // connect completed
  uint64_t last_rx_ns = 0;
  uint64_t msg_sent_ns = 0;       // the latest message's send time
  uint64_t ping_sent_ns = 0;
  uint32_t outstanding = 0;       // messages not yet answered
  uint32_t echo_pos = 0;          // bytes of the current echo matched so far
  uint32_t raw_expect = 0;        // raw: echo bytes still expected for the latest message
  Phase phase = Phase::kIdle;
  bool echo_bad = false;
  bool ping_outstanding = false;
  bool closing = false;           // our close frame is sent: waiting for the peer's (until
                                  // kCloseWaitNs past the end of the lifetime)
  bool in_control = false;        // inside a WebSocket control frame
  bool expect_first = false;      // the next echo is of --first-message
  uint32_t raw_skip = 0;          // raw: echo bytes of --first-message still to pass over
  std::variant<std::monostate, proto::ResponseParser, proto::WsFrameParser, proto::MqttParser> parser;
  proto::TlsSession tls;
  std::unique_ptr<std::string> control;  // a WebSocket control payload split across reads (rare)
};

// What the connector must do with a connection after a driver call.
enum class SessionVerdict : uint8_t { kKeep, kClose, kReopen };

class SessionDriver {
 public:
  // Creates the worker's TLS context (fails on bad TLS options).
  // `stats` is the worker's: pings and pongs go to its ping counters,
  // the rest to stats->session.
  // `transport` null: the connection handle is a socket descriptor, written
  // with send(2) at once.
  static Result<std::unique_ptr<SessionDriver>> Make(const SessionOptions& options, LoadStats* stats,
                                                     uint64_t start_ns, SessionTransport* transport = nullptr);

  // The TCP connect to `target` (for the Host header) completed.
  SessionVerdict Open(ClientSession& s, uint64_t conn, uint64_t index, std::string_view target_host, uint64_t now);
  // The socket `conn` (a descriptor) is readable (or hung up): reads until
  // EAGAIN and feeds the session.
  SessionVerdict OnReadable(ClientSession& s, uint64_t conn, uint64_t now, int* error_out);
  // `n` bytes arrived on `conn` (a completion's buffer; the parsers may
  // rewrite it in place).
  SessionVerdict OnBytes(ClientSession& s, uint64_t conn, uint8_t* data, size_t n, uint64_t now);
  // The peer closed the connection (EOF, or an error the caller counted).
  SessionVerdict OnPeerClosed(ClientSession& s);
  // One message due now (the connector paces these).
  SessionVerdict SendMessage(ClientSession& s, uint64_t conn, uint64_t now);
  // One ping due now: a WebSocket ping frame carrying the send time, or an
  // MQTT PINGREQ (a previous one unanswered is mqtt_no_pingresp).
  SessionVerdict SendPing(ClientSession& s, uint64_t conn, uint64_t now);
  // Timers: idle timeout, lifetime. At the end of its lifetime a WebSocket
  // session sends a close frame (1000) and waits up to kCloseWaitNs for the
  // peer's (RFC 6455 7.1.2); an MQTT session sends DISCONNECT (3.14) and closes.
  SessionVerdict Sweep(ClientSession& s, uint64_t conn, uint64_t now);
  static constexpr uint64_t kCloseWaitNs = 2'000'000'000ull;
  // The session ends (our close); frees what it held.
  void Release(ClientSession& s);

  const SessionOptions& options() const { return options_; }

 private:
  SessionDriver(const SessionOptions& o, LoadStats* stats, uint64_t start_ns, SessionTransport* transport);
  SessionVerdict Begin(ClientSession& s, uint64_t now);
  SessionVerdict OnTlsBytes(ClientSession& s, const uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnPlain(ClientSession& s, uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnWsControl(ClientSession& s, proto::WsOpcode op, const std::string& payload, uint64_t now);
  SessionVerdict OnHttp(ClientSession& s, uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnWs(ClientSession& s, uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnWsFrames(ClientSession& s, uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnMqtt(ClientSession& s, uint8_t* data, size_t n, uint64_t now);
  SessionVerdict OnRaw(ClientSession& s, size_t n, uint64_t now);
  void Ready(ClientSession& s, uint64_t now);
  void Answered(ClientSession& s, uint64_t now);
  SessionVerdict Fail(proto::ProtoError e);
  // Sends plain_ (through TLS when on) and clears it.
  SessionVerdict Flush(ClientSession& s, uint64_t conn);
  const uint8_t* MaskKey();

  SessionOptions options_;
  LoadStats* stats_;
  SessionStats& ss_;
  uint64_t start_ns_;
  SessionTransport* transport_;  // the engine's; or socket_ (descriptors, send(2))
  std::unique_ptr<SessionTransport> socket_;
  std::shared_ptr<proto::TlsContext> tls_ctx_;
  proto::TlsIo tls_io_;
  std::string plain_;   // application bytes to send on the current connection
  std::string wire_;    // bytes for the socket (TLS records or plain_)
  std::string control_; // a WebSocket control payload being gathered
  uint8_t rx_[16 * 1024];
  uint8_t plain_rx_[16 * 1024];
  uint8_t masks_[4096];
  size_t mask_pos_ = sizeof masks_;
  std::string_view host_;  // Host header value (the options' or the target's, owned by the caller)
};

}  // namespace tcpmax::load

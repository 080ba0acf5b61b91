// Server sessions for `tcpmax serve --tls` and `--proto ws`: TLS (OpenSSL via
// src/proto's storage-less BIO) and RFC 6455 WebSocket over the hold, echo
// and http modes, driven by the epoll engine.
//
//   hold: TLS handshake / WebSocket upgrade, then read and discard (pings answered);
//   echo: decrypted bytes (TLS) or each data frame (WebSocket, unmasked,
//         same opcode and FIN, streamed without buffering the message) back;
//   http: keep-alive 200 OK per request (serve/http_scan.h); with --proto ws
//         a request carrying an upgrade becomes an echoing WebSocket session.
// A request that is not a valid upgrade gets 400 and is closed (RFC 6455
// 4.2.2 item 1) in hold and echo modes.
//
// Per connection a ServerSession (state machines only; no buffers): output
// is appended to the worker's string and sent with the engine's backpressure.
// Threading: one driver per worker thread, with its sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include "proto/http1.h"
#include "proto/tls.h"
#include "proto/ws.h"
#include "serve/http_scan.h"

namespace tcpmax::serve {

enum class ServeMode;

struct SessionSetup {
  bool ws = false;
  std::shared_ptr<proto::TlsContext> tls;  // server context, or null
  bool active() const { return ws || tls != nullptr; }
};

struct ServerSession {
  enum class Phase : uint8_t { kIdle, kTls, kHttp, kWs };
  proto::TlsSession tls;
  std::variant<std::monostate, proto::RequestParser, proto::WsFrameParser> parser;
  Phase phase = Phase::kIdle;
  HttpScanState scan = HttpScanState::kText;
  bool echo_frame = false;   // the current WebSocket frame is streamed back
  bool close_after = false;  // close once the output is sent
};

// Counts a worker's driver keeps (read by its owner thread only; the server
// publishes them through ServeCounters).
struct SessionCounts {
  uint64_t tls_done = 0, tls_failed = 0, tls_parked = 0, ws_upgrades = 0, ws_refused = 0, ws_messages = 0, ws_bad_frames = 0;
};

class ServerSessionDriver {
 public:
  ServerSessionDriver(const SessionSetup& setup, ServeMode mode) : setup_(setup), mode_(mode) {}
  // A connection was accepted; false when its session cannot be made.
  bool Open(ServerSession& s);
  // n received bytes (writable: WebSocket payload is unmasked in place);
  // what to send is appended to *out. False: close (after sending *out).
  bool OnBytes(ServerSession& s, uint8_t* data, size_t n, std::string* out);
  void Release(ServerSession& s);
  const SessionCounts& counts() const { return counts_; }

 private:
  bool OnPlain(ServerSession& s, uint8_t* data, size_t n, std::string* out);
  bool OnRequests(ServerSession& s, uint8_t* data, size_t n, std::string* out);
  bool OnFrames(ServerSession& s, uint8_t* data, size_t n, std::string* out);

  SessionSetup setup_;
  ServeMode mode_;
  proto::TlsIo io_;
  std::string plain_;  // plaintext replies while TLS is on
  uint8_t plain_rx_[16 * 1024];
  SessionCounts counts_;
};

}  // namespace tcpmax::serve

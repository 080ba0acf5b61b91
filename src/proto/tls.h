// TLS (OpenSSL 3) as a state machine with no I/O of its own, so it runs under
// any engine: ciphertext the engine received goes in (TlsSession::Input),
// ciphertext to send comes out appended to a string the engine owns.
//
// The session's BIO is a thin custom BIO with no storage: reads take from the
// span given to Input(), writes append to the caller's string, so a session
// keeps no buffer of its own beyond OpenSSL's (and with release_buffers, not
// even those while idle: SSL_MODE_RELEASE_BUFFERS). A partial record stays in
// OpenSSL's read buffer until the rest arrives.
//
// Parking (TlsConfig::park, TLS 1.3 only): once the handshake is done, the
// client has its session ticket (when resuming) and a Read ends with nothing
// pending, the session frees its SSL object and keeps only the traffic keys
// and sequence numbers (tls_record.h): about 0.3 KB instead of OpenSSL's
// 13-15 KB with released buffers. The secrets come from OpenSSL's keylog
// callback; the sequence numbers from counting the records that pass the BIO
// after the handshake. A parked session cannot unpark: a message it cannot
// handle fails the session (kTlsRecord) with the reason.
//
// TlsContext (SSL_CTX) is shared by the sessions of one owner; it keeps the
// client's most recent session for resumption. TlsIo is one per thread: each
// call on a session reads and writes through it.
// Thread-safety: a TlsContext may be used from several threads; a TlsSession
// and a TlsIo belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "proto/proto_error.h"
#include "proto/tls_record.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_session_st SSL_SESSION;

namespace tcpmax::proto {

struct TlsConfig {
  bool server = false;
  std::string cert_file, key_file;   // server: PEM certificate chain and key
  std::string cert_pem, key_pem;     // server: the same in memory (used when set)
  std::string ca_file;               // client: CAs to verify against ("": the system's)
  bool insecure = false;             // client: do not verify the server
  std::string sni;                   // client: server name sent and verified
  std::vector<std::string> alpn;     // protocols offered (client) or accepted (server), in order
  int min_version = 0;               // 12 or 13 (TLS 1.2/1.3); 0: OpenSSL's default
  int max_version = 0;
  bool release_buffers = false;      // SSL_MODE_RELEASE_BUFFERS
  bool resume = true;                // client: offer the last session (resumption)
  bool park = false;                 // TLS 1.3: park idle sessions (see above)
};

// "1.2" -> 12, "1.3" -> 13; 0 when unknown.
int ParseTlsVersion(std::string_view text);

class TlsContext {
 public:
  // Fails naming the file or the OpenSSL reason (a missing certificate...).
  static Result<std::shared_ptr<TlsContext>> Create(const TlsConfig& config);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  const TlsConfig& config() const { return config_; }
  // The client's session to resume (an extra reference for the caller), or null.
  SSL_SESSION* TakeSession();
  void KeepSession(SSL_SESSION* s);  // takes the reference

 private:
  explicit TlsContext(const TlsConfig& c) : config_(c) {}
  SSL_CTX* ctx_ = nullptr;
  TlsConfig config_;
  std::string alpn_wire_;
  std::mutex mu_;
  SSL_SESSION* session_ = nullptr;
  friend struct TlsContextAccess;
};

// The per-thread window the sessions' BIOs read from and write to.
struct TlsIo {
  const uint8_t* in = nullptr;
  size_t in_len = 0;
  std::string* out = nullptr;
};

enum class TlsStatus : uint8_t {
  kDone,     // the handshake completed (or data was read/written)
  kWant,     // more input is needed
  kClosed,   // the peer sent close_notify
  kFailed,   // error(): why
};

class TlsSession {
 public:
  TlsSession() = default;
  // A session for one connection on `ctx`, using `io` for every call.
  static Result<TlsSession> Open(TlsContext& ctx, TlsIo* io);
  TlsSession(TlsSession&& o) noexcept;
  TlsSession& operator=(TlsSession&& o) noexcept;
  ~TlsSession();
  explicit operator bool() const { return ssl_ != nullptr || parked_ != nullptr; }

  // Makes n bytes of received ciphertext available to the next calls;
  // `out` receives what the session has to send.
  void Bind(const uint8_t* in, size_t n, std::string* out);
  // Unread ciphertext left from the last Bind (0 once consumed).
  size_t input_left() const { return io_->in_len; }

  TlsStatus Handshake();
  // Reads decrypted bytes into buf: >0 bytes read, 0 with kWant/kClosed/kFailed in *status.
  size_t Read(uint8_t* buf, size_t cap, TlsStatus* status);
  // Encrypts all of `plain` (appended to the bound `out`).
  TlsStatus Write(std::string_view plain);
  // close_notify appended to the bound `out`.
  void Shutdown();

  bool handshake_done() const;
  bool resumed() const;
  // True once the SSL object is freed and the traffic keys alone remain.
  bool parked() const { return parked_ != nullptr; }
  const ParkedTls* parked_layer() const { return parked_.get(); }
  // OpenSSL's object, for tests and tools that drive OpenSSL directly (e.g.
  // SSL_key_update); null once parked.
  SSL* native() const { return ssl_; }
  std::string_view alpn() const;
  std::string_view version() const;  // "TLSv1.3"
  ProtoError error() const { return error_; }
  std::string error_text() const { return error_text_; }

 private:
  TlsStatus Classify(int rc);
  TlsStatus FromParked(ParkedStatus st);
  TlsStatus WriteAll(std::string_view plain);
  // Counts the records that crossed the BIO since `in0`/`out0` (parking's sequence numbers).
  void CountRecords(const uint8_t* in0, size_t out0);
  void TryPark();
  SSL* ssl_ = nullptr;
  std::unique_ptr<ParkedTls> parked_;
  TlsIo* io_ = nullptr;
  TlsContext* ctx_ = nullptr;
  ProtoError error_ = ProtoError::kCount;
  bool parked_resumed_ = false;
  int8_t parked_alpn_ = -1;          // index into the config's alpn list
  std::string error_text_;
};

}  // namespace tcpmax::proto

#include "proto/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace tcpmax::proto {
namespace {

// --- the storage-less BIO (see tls.h) ---

int IoWrite(BIO* b, const char* data, int len) {
  auto* io = static_cast<TlsIo*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (io == nullptr || io->out == nullptr) {
    BIO_set_retry_write(b);
    return -1;
  }
  io->out->append(data, static_cast<size_t>(len));
  return len;
}

int IoRead(BIO* b, char* data, int len) {
  auto* io = static_cast<TlsIo*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (io == nullptr || io->in_len == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t take = std::min(io->in_len, static_cast<size_t>(len));
  std::memcpy(data, io->in, take);
  io->in += take;
  io->in_len -= take;
  return static_cast<int>(take);
}

long IoCtrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: case BIO_CTRL_WPENDING: return 0;
    default: return 0;
  }
}

int IoCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* IoMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tcpmax-io");
    BIO_meth_set_write(m, IoWrite);
    BIO_meth_set_read(m, IoRead);
    BIO_meth_set_ctrl(m, IoCtrl);
    BIO_meth_set_create(m, IoCreate);
    return m;
  }();
  return method;
}

std::string OpenSslReason() {
  unsigned long e = ERR_get_error();
  std::string text;
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text.empty() ? "unknown OpenSSL error" : text;
}

int VersionConstant(int v) { return v == 12 ? TLS1_2_VERSION : v == 13 ? TLS1_3_VERSION : 0; }

int ContextIndex() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Counts whole TLS records in a byte stream fed in any pieces (RFC 8446 5.1:
// a 5-byte header whose last two bytes are the length of what follows).
struct RecordScan {
  uint8_t header[5] = {};
  uint8_t header_have = 0;
  uint32_t body_left = 0;
  void Feed(const uint8_t* p, size_t n, uint64_t* records) {
    while (n > 0) {
      if (body_left == 0) {
        size_t take = std::min<size_t>(n, 5 - header_have);
        std::memcpy(header + header_have, p, take);
        header_have = static_cast<uint8_t>(header_have + take);
        p += take;
        n -= take;
        if (header_have < 5) return;
        body_left = (uint32_t{header[3]} << 8) | header[4];
        if (body_left > 0) continue;
      } else {
        size_t take = std::min<size_t>(n, body_left);
        body_left -= static_cast<uint32_t>(take);
        p += take;
        n -= take;
        if (body_left > 0) return;
      }
      header_have = 0;
      ++*records;
    }
  }
  bool at_boundary() const { return header_have == 0 && body_left == 0; }
};

// What parking needs while the SSL object lives: the application traffic
// secrets (from the keylog callback) and the records protected under them.
// Hung on the SSL as ex_data and freed with it.
struct ParkPrep {
  uint8_t secret[2][48] = {};  // [0] client, [1] server application traffic secret 0
  uint8_t secret_len[2] = {};
  bool ticket_seen = false;    // client: a NewSessionTicket was stored
  bool counting = false;       // the handshake is done: records below are under the traffic keys
  uint64_t rx_records = 0, tx_records = 0;
  RecordScan rx_scan, tx_scan;
};

void FreePrep(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<ParkPrep*>(ptr); }

int PrepIndex() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreePrep);
  return index;
}

ParkPrep* PrepOf(const SSL* ssl) { return static_cast<ParkPrep*>(SSL_get_ex_data(ssl, PrepIndex())); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// NSS key log format: "LABEL <client_random hex> <secret hex>".
void OnKeylog(const SSL* ssl, const char* line) {
  ParkPrep* p = PrepOf(ssl);
  if (p == nullptr) return;
  std::string_view l(line);
  int which = l.starts_with("CLIENT_TRAFFIC_SECRET_0 ") ? 0 : l.starts_with("SERVER_TRAFFIC_SECRET_0 ") ? 1 : -1;
  if (which < 0) return;
  size_t sp = l.rfind(' ');
  std::string_view hex = l.substr(sp + 1);
  if (hex.size() % 2 != 0 || hex.size() / 2 > sizeof p->secret[0]) return;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return;
    p->secret[which][i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  p->secret_len[which] = static_cast<uint8_t>(hex.size() / 2);
}

int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  if (ParkPrep* p = PrepOf(ssl)) p->ticket_seen = true;
  auto* ctx = static_cast<TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ContextIndex()));
  if (ctx == nullptr) return 0;
  ctx->KeepSession(session);
  return 1;  // we keep the reference
}

// The server picks the first of its protocols the client offered (RFC 7301 3.2).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void* arg) {
  auto* wire = static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol (120)
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

int ParseTlsVersion(std::string_view text) {
  if (text == "1.2") return 12;
  if (text == "1.3") return 13;
  return 0;
}

struct TlsContextAccess {
  static Result<void> Configure(TlsContext& c) {
    const TlsConfig& cfg = c.config_;
    SSL_CTX* ctx = c.ctx_;
    SSL_CTX_set_ex_data(ctx, ContextIndex(), &c);
    if (cfg.min_version && !SSL_CTX_set_min_proto_version(ctx, VersionConstant(cfg.min_version))) {
      return tl::unexpected(Error{0, "TLS minimum version: " + OpenSslReason()});
    }
    if (cfg.max_version && !SSL_CTX_set_max_proto_version(ctx, VersionConstant(cfg.max_version))) {
      return tl::unexpected(Error{0, "TLS maximum version: " + OpenSslReason()});
    }
    if (cfg.release_buffers) SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (cfg.park) SSL_CTX_set_keylog_callback(ctx, OnKeylog);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    for (const std::string& p : cfg.alpn) {
      if (p.empty() || p.size() > 255) return tl::unexpected(Error{0, "ALPN protocol '" + p + "': 1-255 bytes"});
      c.alpn_wire_.push_back(static_cast<char>(p.size()));
      c.alpn_wire_.append(p);
    }
    return cfg.server ? ConfigureServer(c) : ConfigureClient(c);
  }

  static Result<void> UsePem(TlsContext& c) {
    const TlsConfig& cfg = c.config_;
    BIO* cb = BIO_new_mem_buf(cfg.cert_pem.data(), static_cast<int>(cfg.cert_pem.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(cfg.key_pem.data(), static_cast<int>(cfg.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    bool ok = cert && key && SSL_CTX_use_certificate(c.ctx_, cert) == 1 && SSL_CTX_use_PrivateKey(c.ctx_, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) return tl::unexpected(Error{0, "in-memory certificate: " + OpenSslReason()});
    return {};
  }

  static Result<void> ConfigureServer(TlsContext& c) {
    const TlsConfig& cfg = c.config_;
    if (!cfg.cert_pem.empty()) {
      auto ok = UsePem(c);
      if (!ok) return ok;
      if (!c.alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(c.ctx_, SelectAlpn, &c.alpn_wire_);
      return {};
    }
    if (SSL_CTX_use_certificate_chain_file(c.ctx_, cfg.cert_file.c_str()) != 1) {
      return tl::unexpected(Error{0, "certificate " + cfg.cert_file + ": " + OpenSslReason()});
    }
    if (SSL_CTX_use_PrivateKey_file(c.ctx_, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return tl::unexpected(Error{0, "key " + cfg.key_file + ": " + OpenSslReason()});
    }
    if (SSL_CTX_check_private_key(c.ctx_) != 1) {
      return tl::unexpected(Error{0, "key " + cfg.key_file + " does not match " + cfg.cert_file});
    }
    if (!c.alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(c.ctx_, SelectAlpn, &c.alpn_wire_);
    return {};
  }

  static Result<void> ConfigureClient(TlsContext& c) {
    const TlsConfig& cfg = c.config_;
    if (!cfg.insecure) {
      SSL_CTX_set_verify(c.ctx_, SSL_VERIFY_PEER, nullptr);
      int ok = cfg.ca_file.empty() ? SSL_CTX_set_default_verify_paths(c.ctx_)
                                   : SSL_CTX_load_verify_locations(c.ctx_, cfg.ca_file.c_str(), nullptr);
      if (ok != 1) return tl::unexpected(Error{0, "CA file " + cfg.ca_file + ": " + OpenSslReason()});
    }
    if (!c.alpn_wire_.empty() &&
        SSL_CTX_set_alpn_protos(c.ctx_, reinterpret_cast<const unsigned char*>(c.alpn_wire_.data()),
                                static_cast<unsigned>(c.alpn_wire_.size())) != 0) {
      return tl::unexpected(Error{0, "ALPN: " + OpenSslReason()});
    }
    if (cfg.resume) {
      SSL_CTX_set_session_cache_mode(c.ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(c.ctx_, OnNewSession);
    }
    return {};
  }
};

Result<std::shared_ptr<TlsContext>> TlsContext::Create(const TlsConfig& config) {
  std::shared_ptr<TlsContext> c(new TlsContext(config));
  c->ctx_ = SSL_CTX_new(config.server ? TLS_server_method() : TLS_client_method());
  if (c->ctx_ == nullptr) return tl::unexpected(Error{0, "SSL_CTX_new: " + OpenSslReason()});
  auto ok = TlsContextAccess::Configure(*c);
  if (!ok) return tl::unexpected(ok.error());
  return c;
}

TlsContext::~TlsContext() {
  if (session_) SSL_SESSION_free(session_);
  if (ctx_) SSL_CTX_free(ctx_);
}

SSL_SESSION* TlsContext::TakeSession() {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_ == nullptr) return nullptr;
  SSL_SESSION_up_ref(session_);
  return session_;
}

void TlsContext::KeepSession(SSL_SESSION* s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_) SSL_SESSION_free(session_);
  session_ = s;
}

Result<TlsSession> TlsSession::Open(TlsContext& ctx, TlsIo* io) {
  TlsSession s;
  s.ssl_ = SSL_new(ctx.get());
  if (s.ssl_ == nullptr) return tl::unexpected(Error{ENOMEM, "SSL_new: " + OpenSslReason()});
  s.io_ = io;
  s.ctx_ = &ctx;
  BIO* bio = BIO_new(IoMethod());
  if (bio == nullptr) return tl::unexpected(Error{ENOMEM, "BIO_new: " + OpenSslReason()});
  BIO_set_data(bio, io);
  SSL_set_bio(s.ssl_, bio, bio);  // one BIO both ways; the SSL owns it
  const TlsConfig& cfg = ctx.config();
  if (cfg.park) SSL_set_ex_data(s.ssl_, PrepIndex(), new ParkPrep);
  if (cfg.server) {
    SSL_set_accept_state(s.ssl_);
    return s;
  }
  SSL_set_connect_state(s.ssl_);
  if (!cfg.sni.empty()) {
    SSL_set_tlsext_host_name(s.ssl_, cfg.sni.c_str());
    if (!cfg.insecure) SSL_set1_host(s.ssl_, cfg.sni.c_str());
  }
  if (cfg.resume) {
    if (SSL_SESSION* last = ctx.TakeSession()) {
      SSL_set_session(s.ssl_, last);
      SSL_SESSION_free(last);
    }
  }
  return s;
}

TlsSession::TlsSession(TlsSession&& o) noexcept
    : ssl_(std::exchange(o.ssl_, nullptr)), parked_(std::move(o.parked_)), io_(o.io_), ctx_(o.ctx_),
      error_(o.error_), parked_resumed_(o.parked_resumed_), parked_alpn_(o.parked_alpn_),
      error_text_(std::move(o.error_text_)) {}

TlsSession& TlsSession::operator=(TlsSession&& o) noexcept {
  if (this != &o) {
    if (ssl_) SSL_free(ssl_);
    ssl_ = std::exchange(o.ssl_, nullptr);
    parked_ = std::move(o.parked_);
    parked_resumed_ = o.parked_resumed_;
    parked_alpn_ = o.parked_alpn_;
    io_ = o.io_;
    ctx_ = o.ctx_;
    error_ = o.error_;
    error_text_ = std::move(o.error_text_);
  }
  return *this;
}

TlsSession::~TlsSession() {
  if (ssl_) SSL_free(ssl_);
}

void TlsSession::Bind(const uint8_t* in, size_t n, std::string* out) {
  io_->in = in;
  io_->in_len = n;
  io_->out = out;
}

TlsStatus TlsSession::Classify(int rc) {
  int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ERR_clear_error();
    return TlsStatus::kWant;
  }
  if (e == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error();
    return TlsStatus::kClosed;
  }
  unsigned long err = ERR_peek_last_error();
  int reason = ERR_GET_REASON(err);
  if (ERR_GET_LIB(err) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    error_ = TlsAlertError(reason - SSL_AD_REASON_OFFSET);
  } else if (ERR_GET_LIB(err) == ERR_LIB_SSL && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    error_ = ProtoError::kTlsVerifyFailed;
  } else {
    error_ = ProtoError::kTlsOther;
  }
  error_text_ = OpenSslReason();
  return TlsStatus::kFailed;
}

TlsStatus TlsSession::Handshake() {
  if (parked_) return TlsStatus::kDone;
  size_t out0 = io_->out ? io_->out->size() : 0;
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    if (ParkPrep* p = PrepOf(ssl_); p && !p->counting) {
      // From here records are under the application traffic keys. The
      // client's last flight (Finished) was under the handshake keys; the
      // server's call that read the client's Finished wrote only its
      // NewSessionTickets, under the new keys (RFC 8446 4.6.1): they count.
      // OpenSSL reads no record ahead, so no peer record under the new keys was taken.
      p->counting = true;
      if (ctx_->config().server && io_->out) {
        p->tx_scan.Feed(reinterpret_cast<const uint8_t*>(io_->out->data()) + out0, io_->out->size() - out0,
                        &p->tx_records);
      }
    }
    // ALPN offered and nothing chosen: RFC 7301 lets a server ignore it; we report it.
    if (!ctx_->config().server && !ctx_->config().alpn.empty() && alpn().empty()) {
      error_ = ProtoError::kTlsAlpnMismatch;
      return TlsStatus::kFailed;
    }
    return TlsStatus::kDone;
  }
  return Classify(rc);
}

void TlsSession::CountRecords(const uint8_t* in0, size_t out0) {
  ParkPrep* p = PrepOf(ssl_);
  if (p == nullptr || !p->counting) return;
  if (in0 != nullptr && io_->in > in0) p->rx_scan.Feed(in0, static_cast<size_t>(io_->in - in0), &p->rx_records);
  if (io_->out && io_->out->size() > out0) {
    p->tx_scan.Feed(reinterpret_cast<const uint8_t*>(io_->out->data()) + out0, io_->out->size() - out0,
                    &p->tx_records);
  }
}

void TlsSession::TryPark() {
  ParkPrep* p = PrepOf(ssl_);
  if (p == nullptr || !p->counting || SSL_version(ssl_) != TLS1_3_VERSION) return;
  const TlsConfig& cfg = ctx_->config();
  if (!cfg.server && cfg.resume && !p->ticket_seen) return;  // wait for the ticket to resume with
  if (!p->rx_scan.at_boundary() || !p->tx_scan.at_boundary()) return;
  if (SSL_pending(ssl_) > 0 || SSL_has_pending(ssl_) || SSL_get_shutdown(ssl_) != 0) return;
  auto suite = TlsSuiteFromId(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ssl_)));
  if (!suite || p->secret_len[0] != TlsSuiteHashLen(*suite) || p->secret_len[1] != TlsSuiteHashLen(*suite)) return;
  int rx = cfg.server ? 0 : 1;
  auto parked = ParkedTls::Make(*suite, p->secret[rx], p->secret[1 - rx], p->rx_records, p->tx_records);
  if (!parked) return;
  parked_resumed_ = SSL_session_reused(ssl_);
  std::string_view chosen = alpn();
  for (size_t i = 0; i < cfg.alpn.size() && i < 127; ++i) {
    if (cfg.alpn[i] == chosen) parked_alpn_ = static_cast<int8_t>(i);
  }
  // Freed without a close, OpenSSL would mark the session (the client's
  // stored ticket) not resumable: the connection goes on, so say it is not broken.
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);  // the prep goes with it
  ssl_ = nullptr;
  parked_ = std::move(parked);
}

TlsStatus TlsSession::FromParked(ParkedStatus st) {
  switch (st) {
    case ParkedStatus::kData: return TlsStatus::kDone;
    case ParkedStatus::kWant: return TlsStatus::kWant;
    case ParkedStatus::kClosed: return TlsStatus::kClosed;
    case ParkedStatus::kFailed: break;
  }
  error_ = parked_->alert() >= 0 ? TlsAlertError(parked_->alert()) : ProtoError::kTlsRecord;
  error_text_ = "parked TLS: " + std::string(parked_->failure());
  return TlsStatus::kFailed;
}

size_t TlsSession::Read(uint8_t* buf, size_t cap, TlsStatus* status) {
  if (parked_) {
    ParkedStatus st;
    size_t got = parked_->Read(&io_->in, &io_->in_len, buf, cap, io_->out, &st);
    *status = FromParked(st);
    return got;
  }
  const uint8_t* in0 = io_->in;
  size_t out0 = io_->out ? io_->out->size() : 0;
  size_t got = 0;
  int rc = SSL_read_ex(ssl_, buf, cap, &got);
  CountRecords(in0, out0);
  if (rc == 1) {
    *status = TlsStatus::kDone;
    return got;
  }
  *status = Classify(rc);
  if (*status == TlsStatus::kWant && ctx_->config().park) TryPark();
  return 0;
}

TlsStatus TlsSession::Write(std::string_view plain) {
  if (parked_) {
    if (io_->out == nullptr || !parked_->Write(plain, io_->out)) return FromParked(ParkedStatus::kFailed);
    return TlsStatus::kDone;
  }
  size_t out0 = io_->out ? io_->out->size() : 0;
  TlsStatus st = WriteAll(plain);
  CountRecords(nullptr, out0);
  return st;
}

TlsStatus TlsSession::WriteAll(std::string_view plain) {
  size_t done = 0;
  while (done < plain.size()) {
    size_t wrote = 0;
    int rc = SSL_write_ex(ssl_, plain.data() + done, plain.size() - done, &wrote);
    if (rc != 1) return Classify(rc);
    done += wrote;
  }
  return TlsStatus::kDone;
}

void TlsSession::Shutdown() {
  if (parked_) {
    if (io_->out) parked_->CloseNotify(io_->out);
    return;
  }
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool TlsSession::handshake_done() const { return parked_ || (ssl_ && SSL_is_init_finished(ssl_)); }
bool TlsSession::resumed() const { return parked_ ? parked_resumed_ : ssl_ && SSL_session_reused(ssl_); }

std::string_view TlsSession::alpn() const {
  if (parked_) return parked_alpn_ < 0 ? std::string_view() : std::string_view(ctx_->config().alpn[parked_alpn_]);
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

std::string_view TlsSession::version() const { return parked_ ? "TLSv1.3" : ssl_ ? SSL_get_version(ssl_) : ""; }

}  // namespace tcpmax::proto

// The TLS 1.3 record layer of a "parked" session: once the handshake is
// done and the connection idles, a TlsSession may free OpenSSL's SSL object
// and keep only this: each direction's traffic secret, key, IV and sequence
// number (about 300 bytes). It is what kTLS keeps in the kernel, done in user
// space for a kernel without the "tls" ULP.
//
//   RFC 8446 5.2  TLSInnerPlaintext = content || type || zeros, sealed with
//                 AEAD; TLSCiphertext header (23, 0x0303, length) is the AAD.
//   RFC 8446 5.3  nonce = iv XOR (64-bit sequence number, left-padded).
//   RFC 8446 7.1  HKDF-Expand-Label; 7.3 key = Expand-Label(secret, "key"),
//                 iv = Expand-Label(secret, "iv"); 7.2 the next secret of a
//                 KeyUpdate = Expand-Label(secret, "traffic upd").
//
// Cipher suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
// TLS_CHACHA20_POLY1305_SHA256 (all of OpenSSL's defaults).
// Post-handshake messages: NewSessionTicket is dropped (counted: a parked
// client does not resume with it); KeyUpdate is applied both ways (4.6.3);
// anything else is a failure with a reason. Alerts: close_notify closes,
// others fail with the alert's number.
//
// Memory: the ParkedTls object; input split inside a record and plaintext
// larger than a Read's buffer are held in strings released once used.
// The AEAD context and scratch buffers are one per thread (shared by every
// parked session of the thread).
// Thread-safety: a ParkedTls belongs to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tcpmax::proto {

enum class TlsSuite : uint8_t { kAes128GcmSha256, kAes256GcmSha384, kChacha20Poly1305Sha256 };

// The suite of an IANA cipher suite id (0x1301-0x1303); nullopt for others.
std::optional<TlsSuite> TlsSuiteFromId(uint16_t id);
size_t TlsSuiteHashLen(TlsSuite s);  // 32 or 48
size_t TlsSuiteKeyLen(TlsSuite s);   // 16 or 32

// HKDF-Expand-Label(secret, label, context, out_len) for out_len up to the
// hash length (RFC 8446 7.1); false when OpenSSL fails.
bool HkdfExpandLabel(TlsSuite s, const uint8_t* secret, std::string_view label, std::string_view context,
                     uint8_t* out, size_t out_len);

enum class ParkedStatus : uint8_t { kData, kWant, kClosed, kFailed };

class ParkedTls {
 public:
  // The traffic secrets of each direction (hash-length bytes) and the number
  // of records already protected under them.
  static std::unique_ptr<ParkedTls> Make(TlsSuite suite, const uint8_t* rx_secret, const uint8_t* tx_secret,
                                         uint64_t rx_seq, uint64_t tx_seq);

  // Reads records from *in (advancing it past what was used): decrypted
  // application bytes into buf (returned, kData); kWant when more input is
  // needed; kClosed on close_notify; kFailed with failure() set. Bytes this
  // side owes (a KeyUpdate answer) are appended to *out.
  size_t Read(const uint8_t** in, size_t* in_len, uint8_t* buf, size_t cap, std::string* out,
              ParkedStatus* status);
  // Seals `plain` as application_data records appended to *out.
  bool Write(std::string_view plain, std::string* out);
  // A sealed close_notify alert appended to *out.
  void CloseNotify(std::string* out);

  // Why the last kFailed: an alert number received (>= 0) or -1 with text.
  int alert() const { return alert_; }
  std::string_view failure() const { return failure_; }
  uint64_t tickets_dropped() const { return tickets_dropped_; }
  uint64_t key_updates() const { return key_updates_; }
  uint64_t rx_seq() const { return rx_.seq; }
  uint64_t tx_seq() const { return tx_.seq; }

 private:
  struct Direction {
    uint8_t secret[48];
    uint8_t key[32];
    uint8_t iv[12];
    uint64_t seq = 0;
  };
  explicit ParkedTls(TlsSuite s) : suite_(s) {}
  bool Derive(Direction& d);
  bool Seal(const uint8_t* plain, size_t n, uint8_t type, std::string* out);
  // Opens one whole record (header included) into the thread's scratch.
  bool Open(const uint8_t* rec, size_t len, const uint8_t** plain, size_t* plain_len, uint8_t* type);
  bool OnHandshake(const uint8_t* p, size_t n, std::string* out);
  ParkedStatus Fail(std::string_view why);
  // Points *rec at the next whole record, from *in or the partial buffer.
  bool NextRecord(const uint8_t** in, size_t* in_len, const uint8_t** rec, size_t* rec_len, ParkedStatus* status);

  TlsSuite suite_;
  Direction rx_, tx_;
  int alert_ = -1;
  uint32_t left_at_ = 0;            // plaintext of left_ already returned
  uint64_t tickets_dropped_ = 0, key_updates_ = 0;
  std::string partial_;             // a record split across reads
  std::string left_;                // decrypted bytes a Read had no room for
  std::string_view failure_;        // static text
};

}  // namespace tcpmax::proto

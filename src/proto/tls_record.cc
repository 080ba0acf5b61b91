#include "proto/tls_record.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>

namespace tcpmax::proto {
namespace {

constexpr size_t kHeader = 5;
constexpr size_t kTag = 16;
constexpr size_t kMaxPlain = 16384;               // 2^14 (RFC 8446 5.1)
constexpr size_t kMaxCipher = kMaxPlain + 256;    // 5.2: TLSCiphertext.length limit
constexpr uint8_t kApplicationData = 23, kHandshake = 22, kAlert = 21;
constexpr uint8_t kNewSessionTicket = 4, kKeyUpdate = 24;

// The thread's AEAD context, the ciphers fetched once, and the scratch a
// record is opened into: shared by every parked session of the thread.
struct Aead {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER* ciphers[3] = {};
  int last = -1;  // suite * 2 + enc of the last init, -1 none
  uint8_t scratch[kMaxCipher];
  ~Aead() {
    EVP_CIPHER_CTX_free(ctx);
    for (EVP_CIPHER* c : ciphers) EVP_CIPHER_free(c);
  }
  // Keys the context for one record.
  bool Init(TlsSuite s, const uint8_t* key, const uint8_t* nonce, int enc) {
    static constexpr const char* kNames[3] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};
    int i = static_cast<int>(s);
    if (ctx == nullptr) return false;
    if (ciphers[i] == nullptr) ciphers[i] = EVP_CIPHER_fetch(nullptr, kNames[i], nullptr);
    if (ciphers[i] == nullptr) return false;
    int want = i * 2 + enc;
    const EVP_CIPHER* c = want == last ? nullptr : ciphers[i];
    if (EVP_CipherInit_ex(ctx, c, nullptr, key, nonce, enc) != 1) {
      last = -1;
      return false;
    }
    last = want;
    return true;
  }
};

Aead& ThreadAead() {
  thread_local Aead aead;
  return aead;
}

const EVP_MD* SuiteHash(TlsSuite s) { return s == TlsSuite::kAes256GcmSha384 ? EVP_sha384() : EVP_sha256(); }

// 5.3: the per-record nonce.
void Nonce(const uint8_t iv[12], uint64_t seq, uint8_t out[12]) {
  std::memcpy(out, iv, 12);
  for (int i = 0; i < 8; ++i) out[11 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
}

}  // namespace

std::optional<TlsSuite> TlsSuiteFromId(uint16_t id) {
  switch (id) {
    case 0x1301: return TlsSuite::kAes128GcmSha256;
    case 0x1302: return TlsSuite::kAes256GcmSha384;
    case 0x1303: return TlsSuite::kChacha20Poly1305Sha256;
    default: return std::nullopt;
  }
}

size_t TlsSuiteHashLen(TlsSuite s) { return s == TlsSuite::kAes256GcmSha384 ? 48 : 32; }
size_t TlsSuiteKeyLen(TlsSuite s) { return s == TlsSuite::kAes128GcmSha256 ? 16 : 32; }

bool HkdfExpandLabel(TlsSuite s, const uint8_t* secret, std::string_view label, std::string_view context,
                     uint8_t* out, size_t out_len) {
  // 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) || opaque context<0..255>;
  // one HKDF-Expand block (RFC 5869 2.3: T(1) = HMAC(PRK, info || 0x01)) covers every length used here.
  size_t hash_len = TlsSuiteHashLen(s);
  if (out_len > hash_len || label.size() > 249 || context.size() > 255) return false;
  uint8_t info[2 + 1 + 255 + 1 + 255 + 1];
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out_len >> 8);
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + label.size());
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label.data(), label.size());
  n += label.size();
  info[n++] = static_cast<uint8_t>(context.size());
  std::memcpy(info + n, context.data(), context.size());
  n += context.size();
  info[n++] = 1;
  uint8_t block[EVP_MAX_MD_SIZE];
  unsigned block_len = 0;
  if (HMAC(SuiteHash(s), secret, static_cast<int>(hash_len), info, n, block, &block_len) == nullptr) return false;
  std::memcpy(out, block, out_len);
  return true;
}

std::unique_ptr<ParkedTls> ParkedTls::Make(TlsSuite suite, const uint8_t* rx_secret, const uint8_t* tx_secret,
                                           uint64_t rx_seq, uint64_t tx_seq) {
  std::unique_ptr<ParkedTls> p(new ParkedTls(suite));
  size_t h = TlsSuiteHashLen(suite);
  std::memcpy(p->rx_.secret, rx_secret, h);
  std::memcpy(p->tx_.secret, tx_secret, h);
  if (!p->Derive(p->rx_) || !p->Derive(p->tx_)) return nullptr;
  p->rx_.seq = rx_seq;
  p->tx_.seq = tx_seq;
  return p;
}

// 7.3: the traffic key and IV of a secret.
bool ParkedTls::Derive(Direction& d) {
  return HkdfExpandLabel(suite_, d.secret, "key", "", d.key, TlsSuiteKeyLen(suite_)) &&
         HkdfExpandLabel(suite_, d.secret, "iv", "", d.iv, 12);
}

ParkedStatus ParkedTls::Fail(std::string_view why) {
  if (failure_.empty()) failure_ = why;
  return ParkedStatus::kFailed;
}

bool ParkedTls::Seal(const uint8_t* plain, size_t n, uint8_t type, std::string* out) {
  // 5.2: TLSInnerPlaintext = content || type (no padding), sealed; the header is the AAD.
  size_t len = n + 1 + kTag;
  size_t at = out->size();
  out->resize(at + kHeader + len);
  auto* p = reinterpret_cast<uint8_t*>(out->data()) + at;
  p[0] = kApplicationData;
  p[1] = 3;
  p[2] = 3;
  p[3] = static_cast<uint8_t>(len >> 8);
  p[4] = static_cast<uint8_t>(len);
  std::memcpy(p + kHeader, plain, n);
  p[kHeader + n] = type;
  uint8_t nonce[12];
  Nonce(tx_.iv, tx_.seq, nonce);
  Aead& a = ThreadAead();
  int outl = 0;
  bool ok = a.Init(suite_, tx_.key, nonce, 1) && EVP_CipherUpdate(a.ctx, nullptr, &outl, p, kHeader) == 1 &&
            EVP_CipherUpdate(a.ctx, p + kHeader, &outl, p + kHeader, static_cast<int>(n + 1)) == 1 &&
            outl == static_cast<int>(n + 1) && EVP_CipherFinal_ex(a.ctx, p + kHeader + n + 1, &outl) == 1 &&
            EVP_CIPHER_CTX_ctrl(a.ctx, EVP_CTRL_AEAD_GET_TAG, kTag, p + kHeader + n + 1) == 1;
  if (!ok) {
    out->resize(at);
    Fail("the AEAD cipher failed to seal a record");
    return false;
  }
  ++tx_.seq;
  return true;
}

bool ParkedTls::Open(const uint8_t* rec, size_t len, const uint8_t** plain, size_t* plain_len, uint8_t* type) {
  if (rec[0] != kApplicationData) {
    Fail("a record that is not protected application_data after the handshake (RFC 8446 5)");
    return false;
  }
  size_t clen = len - kHeader;
  if (clen < kTag + 1) {
    Fail("a protected record too short for its tag and content type");
    return false;
  }
  uint8_t nonce[12], tag[kTag];
  Nonce(rx_.iv, rx_.seq, nonce);
  std::memcpy(tag, rec + len - kTag, kTag);
  Aead& a = ThreadAead();
  int outl = 0, n = static_cast<int>(clen - kTag);
  bool ok = a.Init(suite_, rx_.key, nonce, 0) && EVP_CipherUpdate(a.ctx, nullptr, &outl, rec, kHeader) == 1 &&
            EVP_CipherUpdate(a.ctx, a.scratch, &outl, rec + kHeader, n) == 1 && outl == n &&
            EVP_CIPHER_CTX_ctrl(a.ctx, EVP_CTRL_AEAD_SET_TAG, kTag, tag) == 1 &&
            EVP_CipherFinal_ex(a.ctx, a.scratch + n, &outl) == 1;
  if (!ok) {
    alert_ = -1;
    Fail("bad_record_mac: a record did not decrypt under the parked keys (a key change not seen?)");
    return false;
  }
  ++rx_.seq;
  // 5.4: the content type is the last non-zero byte; zeros after it are padding.
  while (n > 0 && a.scratch[n - 1] == 0) --n;
  if (n == 0) {
    Fail("a protected record with no content type (all padding)");
    return false;
  }
  *type = a.scratch[n - 1];
  *plain = a.scratch;
  *plain_len = static_cast<size_t>(n - 1);
  return true;
}

bool ParkedTls::OnHandshake(const uint8_t* p, size_t n, std::string* out) {
  while (n > 0) {
    if (n < 4) { Fail("a post-handshake message split across records"); return false; }
    size_t mlen = (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (4 + mlen > n) { Fail("a post-handshake message split across records"); return false; }
    if (p[0] == kNewSessionTicket) {
      ++tickets_dropped_;  // 4.6.1: a ticket for resumption; a parked session cannot store it
    } else if (p[0] == kKeyUpdate) {
      // 4.6.3: the peer's next records use its next secret; update_requested (1)
      // asks for our KeyUpdate, sent under our current key before we change it.
      if (mlen != 1 || p[4] > 1) { Fail("a malformed KeyUpdate"); return false; }
      size_t h = TlsSuiteHashLen(suite_);
      uint8_t next[48];
      if (!HkdfExpandLabel(suite_, rx_.secret, "traffic upd", "", next, h)) return false;
      std::memcpy(rx_.secret, next, h);
      if (!Derive(rx_)) return false;
      rx_.seq = 0;
      if (p[4] == 1) {
        if (out == nullptr) { Fail("a KeyUpdate to answer with nowhere to write"); return false; }
        const uint8_t answer[5] = {kKeyUpdate, 0, 0, 1, 0};
        if (!Seal(answer, sizeof answer, kHandshake, out)) return false;
        if (!HkdfExpandLabel(suite_, tx_.secret, "traffic upd", "", next, h)) return false;
        std::memcpy(tx_.secret, next, h);
        if (!Derive(tx_)) return false;
        tx_.seq = 0;
      }
      ++key_updates_;
    } else {
      Fail("an unexpected post-handshake message (only NewSessionTicket and KeyUpdate are handled)");
      return false;
    }
    p += 4 + mlen;
    n -= 4 + mlen;
  }
  return true;
}

bool ParkedTls::NextRecord(const uint8_t** in, size_t* in_len, const uint8_t** rec, size_t* rec_len,
                           ParkedStatus* status) {
  auto record_len = [](const uint8_t* h) { return (size_t{h[3]} << 8) | h[4]; };
  if (partial_.empty() && *in_len >= kHeader && record_len(*in) <= kMaxCipher &&
      *in_len >= kHeader + record_len(*in)) {
    *rec = *in;
    *rec_len = kHeader + record_len(*in);
    *in += *rec_len;
    *in_len -= *rec_len;
    return true;
  }
  // Split: gather the header, then the body, in partial_.
  auto take = [&](size_t want) {
    size_t t = std::min(want, *in_len);
    partial_.append(reinterpret_cast<const char*>(*in), t);
    *in += t;
    *in_len -= t;
  };
  if (partial_.size() < kHeader) take(kHeader - partial_.size());
  if (partial_.size() >= kHeader) {
    size_t len = record_len(reinterpret_cast<const uint8_t*>(partial_.data()));
    if (len > kMaxCipher) {
      *status = Fail("record_overflow: a record longer than 2^14 + 256 bytes (RFC 8446 5.2)");
      return false;
    }
    take(kHeader + len - partial_.size());
    if (partial_.size() == kHeader + len) {
      *rec = reinterpret_cast<const uint8_t*>(partial_.data());
      *rec_len = partial_.size();
      return true;
    }
  }
  *status = ParkedStatus::kWant;
  return false;
}

size_t ParkedTls::Read(const uint8_t** in, size_t* in_len, uint8_t* buf, size_t cap, std::string* out,
                       ParkedStatus* status) {
  for (;;) {
    if (left_at_ < left_.size()) {
      size_t n = std::min(cap, left_.size() - left_at_);
      std::memcpy(buf, left_.data() + left_at_, n);
      left_at_ += static_cast<uint32_t>(n);
      if (left_at_ == left_.size()) {
        std::string().swap(left_);
        left_at_ = 0;
      }
      *status = ParkedStatus::kData;
      return n;
    }
    const uint8_t* rec = nullptr;
    size_t rec_len = 0;
    if (!NextRecord(in, in_len, &rec, &rec_len, status)) return 0;
    const uint8_t* plain = nullptr;
    size_t n = 0;
    uint8_t type = 0;
    bool ok = Open(rec, rec_len, &plain, &n, &type);
    if (!partial_.empty()) std::string().swap(partial_);  // the record is open (in the scratch): release it
    if (!ok) {
      *status = ParkedStatus::kFailed;
      return 0;
    }
    if (type == kApplicationData) {
      if (n == 0) continue;
      size_t give = std::min(n, cap);
      std::memcpy(buf, plain, give);
      if (give < n) left_.assign(reinterpret_cast<const char*>(plain) + give, n - give);
      *status = ParkedStatus::kData;
      return give;
    }
    if (type == kHandshake) {
      if (!OnHandshake(plain, n, out)) {
        *status = Fail("a post-handshake message failed");
        return 0;
      }
      continue;
    }
    if (type == kAlert && n == 2) {
      // 6.1: close_notify (0) ends the peer's writing; any other alert is fatal in TLS 1.3.
      if (plain[1] == 0) {
        *status = ParkedStatus::kClosed;
        return 0;
      }
      alert_ = plain[1];
      *status = Fail("the peer sent an alert");
      return 0;
    }
    *status = Fail("an unexpected inner content type (RFC 8446 5.2)");
    return 0;
  }
}

bool ParkedTls::Write(std::string_view plain, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(plain.data());
  size_t n = plain.size();
  while (n > 0) {
    size_t chunk = std::min(n, kMaxPlain);
    if (!Seal(p, chunk, kApplicationData, out)) return false;
    p += chunk;
    n -= chunk;
  }
  return true;
}

void ParkedTls::CloseNotify(std::string* out) {
  const uint8_t alert[2] = {1, 0};  // warning, close_notify (6.1)
  Seal(alert, sizeof alert, kAlert, out);
}

}  // namespace tcpmax::proto

#include "proto/tls_record.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tcpmax::proto {
namespace {

std::vector<uint8_t> Hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

// OpenSSL's own TLS 1.3 KDF (EVP_KDF "TLS13-KDF", expand only): an independent reference.
std::vector<uint8_t> OpenSslExpandLabel(TlsSuite s, const uint8_t* secret, std::string label, size_t len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  std::string digest = s == TlsSuite::kAes256GcmSha384 ? "SHA384" : "SHA256";
  std::string prefix = "tls13 ";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret), TlsSuiteHashLen(s)),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, prefix.data(), prefix.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, label.data(), label.size()),
      OSSL_PARAM_construct_end()};
  std::vector<uint8_t> out(len);
  int ok = EVP_KDF_derive(ctx, out.data(), len, params);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  if (ok != 1) out.clear();
  return out;
}

TEST(TlsRecord, ExpandLabelMatchesOpenSslsKdfAndRfc8448) {
  uint8_t secret[48];
  for (size_t i = 0; i < sizeof secret; ++i) secret[i] = static_cast<uint8_t>(i * 7 + 1);
  for (TlsSuite s : {TlsSuite::kAes128GcmSha256, TlsSuite::kAes256GcmSha384, TlsSuite::kChacha20Poly1305Sha256}) {
    for (auto [label, len] : {std::pair<const char*, size_t>{"key", TlsSuiteKeyLen(s)}, {"iv", 12},
                              {"traffic upd", TlsSuiteHashLen(s)}}) {
      std::vector<uint8_t> mine(len);
      ASSERT_TRUE(HkdfExpandLabel(s, secret, label, "", mine.data(), len));
      EXPECT_EQ(mine, OpenSslExpandLabel(s, secret, label, len)) << label;
    }
  }
  // RFC 8448 section 3, {server} derive write traffic keys for handshake data.
  auto server_hs = Hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
  uint8_t key[16], iv[12];
  ASSERT_TRUE(HkdfExpandLabel(TlsSuite::kAes128GcmSha256, server_hs.data(), "key", "", key, 16));
  ASSERT_TRUE(HkdfExpandLabel(TlsSuite::kAes128GcmSha256, server_hs.data(), "iv", "", iv, 12));
  EXPECT_EQ(std::vector<uint8_t>(key, key + 16), Hex("3fce516009c21727d0f2e4e86ee403bc"));
  EXPECT_EQ(std::vector<uint8_t>(iv, iv + 12), Hex("5d313eb2671276ee13000b30"));
}

// Two parked layers facing each other (a's tx secret is b's rx secret).
struct Facing {
  std::unique_ptr<ParkedTls> a, b;
  explicit Facing(TlsSuite s, uint64_t seq = 0) {
    uint8_t s1[48], s2[48];
    for (int i = 0; i < 48; ++i) {
      s1[i] = static_cast<uint8_t>(i);
      s2[i] = static_cast<uint8_t>(255 - i);
    }
    a = ParkedTls::Make(s, s1, s2, seq, seq + 3);
    b = ParkedTls::Make(s, s2, s1, seq + 3, seq);
  }
};

// Reads everything `wire` carries, fed in pieces of `piece` bytes.
std::string ReadAll(ParkedTls& to, const std::string& wire, size_t piece, ParkedStatus* last, size_t cap = 1000) {
  std::string plain, out;
  size_t at = 0;
  *last = ParkedStatus::kWant;
  while (at < wire.size()) {
    size_t n = std::min(piece, wire.size() - at);
    const auto* in = reinterpret_cast<const uint8_t*>(wire.data()) + at;
    size_t left = n;
    at += n;
    for (;;) {
      uint8_t buf[1000];
      size_t got = to.Read(&in, &left, buf, std::min(cap, sizeof buf), &out, last);
      if (*last != ParkedStatus::kData) break;
      plain.append(reinterpret_cast<char*>(buf), got);
    }
    if (*last == ParkedStatus::kFailed || *last == ParkedStatus::kClosed) break;
    EXPECT_EQ(left, 0u);
  }
  return plain;
}

TEST(TlsRecord, SealedRecordsOpenSplitAtEveryByte) {
  for (TlsSuite s : {TlsSuite::kAes128GcmSha256, TlsSuite::kAes256GcmSha384, TlsSuite::kChacha20Poly1305Sha256}) {
    Facing f(s, 1000);
    std::string wire;
    ASSERT_TRUE(f.a->Write("hello", &wire));
    ASSERT_TRUE(f.a->Write("", &wire));  // nothing: no record
    ASSERT_TRUE(f.a->Write(std::string(20000, 'x'), &wire));
    EXPECT_EQ(wire.size(), (5 + 5 + 17) + (5 + 16384 + 17) + (5 + (20000 - 16384) + 17));
    for (size_t piece = 1; piece <= 64; ++piece) {
      Facing g(s, 1000);
      std::string w;
      g.a->Write("hello", &w);
      g.a->Write(std::string(20000, 'x'), &w);
      ParkedStatus st;
      std::string got = ReadAll(*g.b, w, piece, &st, piece * 7);  // Reads smaller than a record too
      ASSERT_EQ(got, "hello" + std::string(20000, 'x')) << "piece " << piece;
      EXPECT_EQ(st, ParkedStatus::kWant);
      EXPECT_EQ(g.b->rx_seq(), 1006u);  // started at 1003, three records
    }
    // Close notify.
    std::string bye;
    f.a->CloseNotify(&bye);
    ParkedStatus st;
    ReadAll(*f.b, wire + bye, SIZE_MAX, &st);
    EXPECT_EQ(st, ParkedStatus::kClosed);
  }
}

TEST(TlsRecord, BadRecordsFailWithAReason) {
  Facing f(TlsSuite::kAes128GcmSha256);
  std::string wire;
  f.a->Write("abc", &wire);
  ParkedStatus st;
  for (size_t i = 5; i < wire.size(); ++i) {  // every byte of body and tag
    Facing g(TlsSuite::kAes128GcmSha256);
    std::string w;
    g.a->Write("abc", &w);
    w[i] ^= 0x40;
    EXPECT_EQ(ReadAll(*g.b, w, SIZE_MAX, &st), "");
    EXPECT_EQ(st, ParkedStatus::kFailed);
    EXPECT_NE(g.b->failure().find("bad_record_mac"), std::string::npos);
  }
  {
    Facing g(TlsSuite::kAes128GcmSha256);  // header changed: the AAD no longer matches
    std::string w;
    g.a->Write("abc", &w);
    w[2] = 1;
    ReadAll(*g.b, w, SIZE_MAX, &st);
    EXPECT_EQ(st, ParkedStatus::kFailed);
  }
  {
    Facing g(TlsSuite::kAes128GcmSha256);  // a plaintext handshake record after the handshake
    ReadAll(*g.b, std::string("\x16\x03\x03\x00\x01\x00", 6), SIZE_MAX, &st);
    EXPECT_EQ(st, ParkedStatus::kFailed);
  }
  {
    Facing g(TlsSuite::kAes128GcmSha256);  // record_overflow
    ReadAll(*g.b, std::string("\x17\x03\x03\x48\x01", 5), SIZE_MAX, &st);
    EXPECT_EQ(st, ParkedStatus::kFailed);
    EXPECT_NE(g.b->failure().find("record_overflow"), std::string::npos);
  }
  {
    Facing g(TlsSuite::kAes128GcmSha256);  // a replayed record (its sequence number is past)
    std::string w;
    g.a->Write("once", &w);
    EXPECT_EQ(ReadAll(*g.b, w, SIZE_MAX, &st), "once");
    ReadAll(*g.b, w, SIZE_MAX, &st);
    EXPECT_EQ(st, ParkedStatus::kFailed);
  }
}

}  // namespace
}  // namespace tcpmax::proto

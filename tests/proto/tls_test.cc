#include "proto/tls.h"
#include "proto/tls_cert.h"

#include <openssl/ssl.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace tcpmax::proto {
namespace {

// A CA and a server certificate for "localhost" signed by it, made with the
// openssl command once for the whole suite; a second, unrelated CA.
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/tcpmax-tls-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string d = dir_;
    std::string cmd =
        "cd " + d + " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
        "-keyout server.key -out server.csr 2>/dev/null && "
        "printf 'subjectAltName=DNS:localhost\\n' > ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext "
        "-out server.pem 2>/dev/null && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other "
        "-keyout other.key -out other.pem 2>/dev/null";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  void SetUp() override {
    if (!ok_) GTEST_SKIP() << "the openssl command could not make test certificates";
  }

  TlsConfig Server() {
    TlsConfig c;
    c.server = true;
    c.cert_file = dir_ + "/server.pem";
    c.key_file = dir_ + "/server.key";
    return c;
  }
  TlsConfig Client() {
    TlsConfig c;
    c.ca_file = dir_ + "/ca.pem";
    c.sni = "localhost";
    return c;
  }

  static std::string dir_;
  static bool ok_;
};
std::string TlsTest::dir_;
bool TlsTest::ok_ = false;

// Two sessions talking through strings, ciphertext delivered in pieces of at
// most `piece` bytes.
struct Pair {
  TlsIo cio, sio;
  TlsSession c, s;
  std::string c_out, s_out;  // ciphertext each side produced, not yet delivered
  std::string c_plain, s_plain;
  TlsStatus c_hs = TlsStatus::kWant, s_hs = TlsStatus::kWant;
  size_t piece = SIZE_MAX;

  // Delivers `wire` to `to`, advancing its handshake or reading plaintext.
  static void Deliver(TlsSession& to, std::string& wire, std::string& out, std::string& plain, TlsStatus& hs,
                      size_t piece) {
    std::string in = std::move(wire);
    wire.clear();
    size_t at = 0;
    do {
      size_t n = std::min(piece, in.size() - at);
      to.Bind(reinterpret_cast<const uint8_t*>(in.data()) + at, n, &out);
      at += n;
      while (true) {
        if (hs == TlsStatus::kWant) {
          hs = to.Handshake();
          if (hs != TlsStatus::kDone) break;
        }
        uint8_t buf[4096];
        TlsStatus st;
        size_t got = to.Read(buf, sizeof buf, &st);
        if (got == 0) break;
        plain.append(reinterpret_cast<char*>(buf), got);
      }
    } while (at < in.size() && hs != TlsStatus::kFailed);
  }

  // Runs both sides until neither has anything to send.
  void Run() {
    c.Bind(nullptr, 0, &c_out);
    if (c_hs == TlsStatus::kWant) c_hs = c.Handshake();
    for (int round = 0; round < 20 && (!c_out.empty() || !s_out.empty()); ++round) {
      if (!c_out.empty()) Deliver(s, c_out, s_out, s_plain, s_hs, piece);
      if (!s_out.empty()) Deliver(c, s_out, c_out, c_plain, c_hs, piece);
    }
  }
};

void Open(Pair& p, TlsContext& client, TlsContext& server) {
  auto c = TlsSession::Open(client, &p.cio);
  auto s = TlsSession::Open(server, &p.sio);
  ASSERT_TRUE(c && s);
  p.c = std::move(*c);
  p.s = std::move(*s);
}

TEST_F(TlsTest, HandshakeAndDataBothVersionsAtEveryPieceSize) {
  for (int version : {12, 13}) {
    TlsConfig sc = Server(), cc = Client();
    sc.max_version = cc.max_version = version;
    auto server = TlsContext::Create(sc);
    auto client = TlsContext::Create(cc);
    ASSERT_TRUE(server && client) << (server ? client.error().context : server.error().context);
    for (size_t piece : {size_t{1}, size_t{2}, size_t{5}, size_t{100}, size_t{SIZE_MAX}}) {
      Pair p;
      p.piece = piece;
      Open(p, **client, **server);
      p.Run();
      ASSERT_EQ(p.c_hs, TlsStatus::kDone) << version << " piece " << piece;
      ASSERT_EQ(p.s_hs, TlsStatus::kDone);
      EXPECT_EQ(p.c.version(), version == 12 ? "TLSv1.2" : "TLSv1.3");
      p.c.Bind(nullptr, 0, &p.c_out);
      ASSERT_EQ(p.c.Write("ping from the client"), TlsStatus::kDone);
      p.s.Bind(nullptr, 0, &p.s_out);
      ASSERT_EQ(p.s.Write(std::string(20000, 's')), TlsStatus::kDone);  // two records
      p.Run();
      EXPECT_EQ(p.s_plain, "ping from the client");
      EXPECT_EQ(p.c_plain, std::string(20000, 's'));
    }
  }
}

TEST_F(TlsTest, AlpnAgreedAndRefused) {
  TlsConfig sc = Server(), cc = Client();
  sc.alpn = {"http/1.1"};
  cc.alpn = {"h2", "http/1.1"};
  auto server = TlsContext::Create(sc);
  auto client = TlsContext::Create(cc);
  Pair p;
  Open(p, **client, **server);
  p.Run();
  ASSERT_EQ(p.c_hs, TlsStatus::kDone);
  EXPECT_EQ(p.c.alpn(), "http/1.1");

  cc.alpn = {"mqtt"};
  auto client2 = TlsContext::Create(cc);
  Pair q;
  Open(q, **client2, **server);
  q.Run();
  EXPECT_EQ(q.c_hs, TlsStatus::kFailed);
  EXPECT_EQ(q.c.error(), ProtoError::kTlsAlertAlpn);
}

TEST_F(TlsTest, VerificationFailures) {
  auto server = TlsContext::Create(Server());
  TlsConfig wrong_ca = Client();
  wrong_ca.ca_file = dir_ + "/other.pem";
  TlsConfig wrong_name = Client();
  wrong_name.sni = "not-localhost";
  for (const TlsConfig& cc : {wrong_ca, wrong_name}) {
    auto client = TlsContext::Create(cc);
    Pair p;
    Open(p, **client, **server);
    p.Run();
    EXPECT_EQ(p.c_hs, TlsStatus::kFailed);
    EXPECT_EQ(p.c.error(), ProtoError::kTlsVerifyFailed);
    EXPECT_NE(p.c.error_text().find("certificate verify failed"), std::string::npos) << p.c.error_text();
    // The server heard the client's alert and names it.
    EXPECT_EQ(p.s_hs, TlsStatus::kFailed);
    EXPECT_NE(p.s.error(), ProtoError::kCount);
  }
  TlsConfig insecure = wrong_ca;
  insecure.insecure = true;
  auto client = TlsContext::Create(insecure);
  Pair p;
  Open(p, **client, **server);
  p.Run();
  EXPECT_EQ(p.c_hs, TlsStatus::kDone);
}

TEST_F(TlsTest, SecondSessionResumes) {
  for (int version : {12, 13}) {
    TlsConfig cc = Client();
    cc.max_version = version;
    auto server = TlsContext::Create(Server());
    auto client = TlsContext::Create(cc);
    Pair first;
    Open(first, **client, **server);
    first.Run();
    ASSERT_EQ(first.c_hs, TlsStatus::kDone);
    EXPECT_FALSE(first.c.resumed());
    Pair second;
    Open(second, **client, **server);
    second.Run();
    ASSERT_EQ(second.c_hs, TlsStatus::kDone);
    EXPECT_TRUE(second.c.resumed()) << version;
  }
}

TEST_F(TlsTest, ReleasedBuffersStillCarryData) {
  TlsConfig sc = Server(), cc = Client();
  sc.release_buffers = cc.release_buffers = true;
  auto server = TlsContext::Create(sc);
  auto client = TlsContext::Create(cc);
  Pair p;
  p.piece = 7;
  Open(p, **client, **server);
  p.Run();
  ASSERT_EQ(p.c_hs, TlsStatus::kDone);
  for (int i = 0; i < 3; ++i) {
    p.c.Bind(nullptr, 0, &p.c_out);
    ASSERT_EQ(p.c.Write("m"), TlsStatus::kDone);
    p.Run();
  }
  EXPECT_EQ(p.s_plain, "mmm");
}

TEST_F(TlsTest, ClientTalkingToPlainTextFails) {
  auto client = TlsContext::Create(Client());
  TlsIo io;
  auto c = TlsSession::Open(**client, &io);
  std::string out;
  c->Bind(nullptr, 0, &out);
  EXPECT_EQ(c->Handshake(), TlsStatus::kWant);
  EXPECT_FALSE(out.empty());  // the ClientHello
  std::string http = "HTTP/1.1 400 Bad Request\r\n\r\n";
  c->Bind(reinterpret_cast<const uint8_t*>(http.data()), http.size(), &out);
  EXPECT_EQ(c->Handshake(), TlsStatus::kFailed);
  EXPECT_EQ(c->error(), ProtoError::kTlsOther);
}

TEST_F(TlsTest, BadFilesAreNamed) {
  TlsConfig sc = Server();
  sc.cert_file = dir_ + "/missing.pem";
  auto a = TlsContext::Create(sc);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().context.find("missing.pem"), std::string::npos);
  sc = Server();
  sc.key_file = dir_ + "/other.key";
  auto b = TlsContext::Create(sc);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().context.find("other.key"), std::string::npos) << b.error().context;
  TlsConfig cc = Client();
  cc.ca_file = dir_ + "/nope.pem";
  auto c = TlsContext::Create(cc);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().context.find("nope.pem"), std::string::npos);
}

// --- parked sessions (TlsConfig::park): the traffic keys alone, OpenSSL as the peer ---

// Handshakes a pair with parking on the chosen sides and the given TLS 1.3
// suite, and checks who parked.
void OpenParked(Pair& p, TlsContext& client, TlsContext& server, bool client_parks, bool server_parks) {
  Open(p, client, server);
  p.Run();
  ASSERT_EQ(p.c_hs, TlsStatus::kDone);
  ASSERT_EQ(p.s_hs, TlsStatus::kDone);
  ASSERT_EQ(p.c.parked(), client_parks);
  ASSERT_EQ(p.s.parked(), server_parks);
}

// Sends `text` from one side and expects it whole on the other.
void Exchange(Pair& p, bool from_client, const std::string& text) {
  TlsSession& from = from_client ? p.c : p.s;
  std::string& out = from_client ? p.c_out : p.s_out;
  std::string& got = from_client ? p.s_plain : p.c_plain;
  got.clear();
  from.Bind(nullptr, 0, &out);
  ASSERT_EQ(from.Write(text), TlsStatus::kDone) << from.error_text();
  p.Run();
  EXPECT_EQ(got.size(), text.size());
  EXPECT_TRUE(got == text);
}

TEST_F(TlsTest, ParkedSessionsTalkToOpenSslEverySuiteEverySideEveryPiece) {
  for (const char* suite : {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    for (int sides = 1; sides <= 3; ++sides) {
      bool cp = sides & 1, sp = sides & 2;
      TlsConfig sc = Server(), cc = Client();
      sc.park = sp;
      cc.park = cp;
      auto server = TlsContext::Create(sc);
      auto client = TlsContext::Create(cc);
      ASSERT_TRUE(server && client);
      ASSERT_EQ(SSL_CTX_set_ciphersuites((*server)->get(), suite), 1);
      for (size_t piece : {size_t{1}, size_t{3}, size_t{5}, size_t{6}, size_t{22}, size_t{SIZE_MAX}}) {
        SCOPED_TRACE(::testing::Message() << suite << " sides " << sides << " piece " << piece);
        Pair p;
        p.piece = piece;
        OpenParked(p, **client, **server, cp, sp);
        Exchange(p, true, "ping from the client");
        Exchange(p, false, "pong from the server");
        Exchange(p, true, std::string(40000, 'c'));  // three records each way, larger than a Read
        Exchange(p, false, std::string(40000, 's'));
        const char* kMessages[] = {"m0", "m1", "m2", "m3", "m4"};
        for (int i = 0; i < 5; ++i) Exchange(p, i % 2 == 0, kMessages[i]);
      }
    }
  }
}

TEST_F(TlsTest, ParkedClientWaitsForTheTicketAndResumesWithIt) {
  TlsConfig cc = Client();
  cc.park = true;
  auto server = TlsContext::Create(Server());
  auto client = TlsContext::Create(cc);
  Pair first;
  OpenParked(first, **client, **server, true, false);
  // OpenSSL sends 2 tickets; the client parks once it stored one (the other
  // may be read by OpenSSL in the same call, or dropped by the parked layer).
  EXPECT_LE(first.c.parked_layer()->tickets_dropped(), 1u);
  Pair second;
  OpenParked(second, **client, **server, true, false);
  EXPECT_TRUE(second.c.resumed());
  Exchange(second, true, "after resumption");
  Exchange(second, false, "answer");

  cc.resume = false;  // nothing to wait for: parked at once, every ticket dropped
  auto client2 = TlsContext::Create(cc);
  Pair third;
  OpenParked(third, **client2, **server, true, false);
  EXPECT_EQ(third.c.parked_layer()->tickets_dropped(), 2u);
  Exchange(third, false, "tickets passed over");
}

TEST_F(TlsTest, ParkedSessionAppliesKeyUpdatesFromOpenSsl) {
  for (bool client_parks : {true, false}) {
    TlsConfig sc = Server(), cc = Client();
    sc.park = !client_parks;
    cc.park = client_parks;
    auto server = TlsContext::Create(sc);
    auto client = TlsContext::Create(cc);
    Pair p;
    OpenParked(p, **client, **server, client_parks, !client_parks);
    TlsSession& peer = client_parks ? p.s : p.c;
    TlsSession& parked = client_parks ? p.c : p.s;
    std::string& peer_out = client_parks ? p.s_out : p.c_out;
    for (int type : {SSL_KEY_UPDATE_NOT_REQUESTED, SSL_KEY_UPDATE_REQUESTED, SSL_KEY_UPDATE_REQUESTED}) {
      ASSERT_EQ(SSL_key_update(peer.native(), type), 1);
      peer.Bind(nullptr, 0, &peer_out);
      ASSERT_EQ(peer.Write("after a key update"), TlsStatus::kDone);  // the KeyUpdate goes first
      p.Run();
      EXPECT_EQ(client_parks ? p.c_plain : p.s_plain, "after a key update");
      (client_parks ? p.c_plain : p.s_plain).clear();
      Exchange(p, client_parks, "the parked side's answer under its keys");
    }
    EXPECT_EQ(parked.parked_layer()->key_updates(), 3u);
  }
}

TEST_F(TlsTest, ParkedSessionClosesBothWaysAndRefusesTamperedRecords) {
  TlsConfig cc = Client();
  cc.park = true;
  auto server = TlsContext::Create(Server());
  auto client = TlsContext::Create(cc);
  {
    Pair p;  // the parked side's close_notify, read by OpenSSL
    OpenParked(p, **client, **server, true, false);
    p.c.Bind(nullptr, 0, &p.c_out);
    p.c.Shutdown();
    p.s.Bind(reinterpret_cast<const uint8_t*>(p.c_out.data()), p.c_out.size(), &p.s_out);
    uint8_t buf[64];
    TlsStatus st;
    EXPECT_EQ(p.s.Read(buf, sizeof buf, &st), 0u);
    EXPECT_EQ(st, TlsStatus::kClosed);
  }
  {
    Pair p;  // OpenSSL's close_notify, read by the parked side
    OpenParked(p, **client, **server, true, false);
    p.s.Bind(nullptr, 0, &p.s_out);
    p.s.Shutdown();
    p.c.Bind(reinterpret_cast<const uint8_t*>(p.s_out.data()), p.s_out.size(), &p.c_out);
    uint8_t buf[64];
    TlsStatus st;
    EXPECT_EQ(p.c.Read(buf, sizeof buf, &st), 0u);
    EXPECT_EQ(st, TlsStatus::kClosed);
  }
  {
    Pair p;  // one bit flipped in a record
    OpenParked(p, **client, **server, true, false);
    p.s.Bind(nullptr, 0, &p.s_out);
    ASSERT_EQ(p.s.Write("intact?"), TlsStatus::kDone);
    p.s_out[8] ^= 1;
    p.Run();
    EXPECT_EQ(p.c_plain, "");
    uint8_t buf[64];
    TlsStatus st;
    p.c.Bind(nullptr, 0, &p.c_out);
    p.c.Read(buf, sizeof buf, &st);
    EXPECT_EQ(p.c.error(), ProtoError::kTlsRecord);
    EXPECT_NE(p.c.error_text().find("bad_record_mac"), std::string::npos) << p.c.error_text();
  }
}

TEST_F(TlsTest, Tls12SessionsNeverPark) {
  TlsConfig sc = Server(), cc = Client();
  sc.park = cc.park = true;
  sc.max_version = 12;
  auto server = TlsContext::Create(sc);
  auto client = TlsContext::Create(cc);
  Pair p;
  OpenParked(p, **client, **server, false, false);
  Exchange(p, true, "still OpenSSL's");
}

}  // namespace
}  // namespace tcpmax::proto

namespace tcpmax::proto {
namespace {

TEST(TlsSelfSigned, ServesAHandshakeVerifiedByItself) {
  auto pair = MakeSelfSigned("localhost");
  ASSERT_TRUE(pair) << pair.error().context;
  EXPECT_EQ(pair->cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  TlsConfig sc;
  sc.server = true;
  sc.cert_pem = pair->cert_pem;
  sc.key_pem = pair->key_pem;
  auto server = TlsContext::Create(sc);
  ASSERT_TRUE(server) << server.error().context;
  char path[] = "/tmp/tcpmax-selfsigned.XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, pair->cert_pem.data(), pair->cert_pem.size()), static_cast<ssize_t>(pair->cert_pem.size()));
  close(fd);
  TlsConfig cc;
  cc.ca_file = path;
  cc.sni = "localhost";
  auto client = TlsContext::Create(cc);
  ASSERT_TRUE(client);
  Pair p;
  Open(p, **client, **server);
  p.Run();
  unlink(path);
  EXPECT_EQ(p.c_hs, TlsStatus::kDone);
  EXPECT_EQ(p.s_hs, TlsStatus::kDone);
}

}  // namespace
}  // namespace tcpmax::proto

// Parked TLS sessions (--tls-park: the SSL object freed once idle, records
// sealed and opened by tcpmax with the traffic keys alone) against peers
// nobody here wrote, on loopback, with messages exchanged after parking:
// nginx (TLS 1.3, HTTP/1.1 keep-alive, requests every half second),
// `openssl s_server` (it prints what it decrypts, sends a KeyUpdate that asks
// for ours, then a line), `openssl s_client` against `serve --tls --tls-park`
// (echo; a KeyUpdate from the client), and load and serve both parked.
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

// A temporary directory with a self-signed P-256 certificate for localhost and 127.0.0.1.
class Cert {
 public:
  Cert() {
    char tmpl[] = "/tmp/tcpmax-park-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ok_ = RunShell("cd " + dir_ +
                   " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                   "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
                   "-keyout key.pem -out cert.pem 2>&1")
              .exit_code == 0;
  }
  ~Cert() { RunShell("rm -rf " + dir_); }
  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool ok_ = false;
};

nlohmann::json Json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

uint64_t U(const nlohmann::json& j, const char* a, const char* b) {
  const nlohmann::json& v = j.value(a, nlohmann::json::object()).value(b, nlohmann::json());
  return v.is_number() ? v.get<uint64_t>() : UINT64_MAX;
}

bool WaitListening(uint16_t port) {
  return RunShell("for i in $(seq 50); do nc -z 127.0.0.1 " + std::to_string(port) +
                  " && exit 0; sleep 0.1; done; exit 1")
             .exit_code == 0;
}

// Stops the serve started in `dir` (its pid file) and waits for its summary.
void StopServe(const std::string& dir) {
  RunShell("kill -INT $(cat " + dir + "/serve.pid) 2>/dev/null; for i in $(seq 100); do [ -s " + dir +
           "/serve.json ] && exit 0; sleep 0.1; done");
}

TEST(TlsPark, NginxKeepAliveRequestsAfterParking) {
  if (RunShell("command -v nginx").exit_code != 0) GTEST_SKIP() << "SKIPPED: nginx not installed (scripts/install-deps)";
  Cert cert;
  ASSERT_TRUE(cert.ok());
  const std::string& d = cert.dir();
  uint16_t port = UnusedLoopbackPort();
  {
    std::ofstream conf(d + "/nginx.conf");
    conf << "worker_processes 1;\npid " << d << "/nginx.pid;\nerror_log " << d
         << "/error.log;\nevents { worker_connections 4000; }\nhttp {\n  access_log off;\n"
         << "  client_body_temp_path " << d << ";\n  proxy_temp_path " << d << ";\n  fastcgi_temp_path " << d
         << ";\n  uwsgi_temp_path " << d << ";\n  scgi_temp_path " << d << ";\n"
         << "  keepalive_timeout 60s;\n  keepalive_requests 100000;\n"
         << "  server { listen 127.0.0.1:" << port << " ssl backlog=4096;\n"
         << "    ssl_protocols TLSv1.3;\n"
         << "    ssl_certificate " << d << "/cert.pem;\n    ssl_certificate_key " << d << "/key.pem;\n"
         << "    location / { return 200 \"ok\\n\"; } }\n}\n";
  }
  ASSERT_EQ(RunShell("nginx -p " + d + " -c " + d + "/nginx.conf 2>&1").exit_code, 0);
  struct Stop {
    std::string d;
    ~Stop() { RunShell("nginx -p " + d + " -c " + d + "/nginx.conf -s stop 2>/dev/null; sleep 0.2"); }
  } stop{d};
  RunResult r = RunTcpmax({"load", "127.0.0.1:" + std::to_string(port), "-n", "1000", "--rate", "1k/s",
                           "--connect-timeout", "30s", "--proto", "http", "--tls", "--tls-park", "--ca",
                           d + "/cert.pem", "--sni", "localhost", "--request-rate", "2/s", "--hold", "3s", "--json"},
                          120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r.out);
  EXPECT_EQ(U(j, "session", "ready"), 1000u) << r.out;
  // Parked once the ticket nginx sends after the handshake was stored.
  EXPECT_EQ(U(j, "session", "tls_parked"), 1000u) << r.out;
  uint64_t sent = U(j, "session", "messages_sent"), answered = U(j, "session", "messages_received");
  EXPECT_GE(sent, 4000u);
  EXPECT_EQ(answered, sent);
  EXPECT_EQ(j["session"]["http_status"]["2xx"].get<uint64_t>(), answered + 1000);
  EXPECT_TRUE(j["session"]["errors"].empty()) << j["session"]["errors"].dump();
}

TEST(TlsPark, OpenSslServerReadsEveryMessageAcrossItsKeyUpdate) {
  Cert cert;
  ASSERT_TRUE(cert.ok());
  const std::string& d = cert.dir();
  uint16_t port = UnusedLoopbackPort();
  // s_server takes "K" on stdin as: send a KeyUpdate with update_requested;
  // a line is sent to the client as data.
  RunShell("cd " + d + " && ((sleep 2; printf 'K\\n'; sleep 0.5; printf 'from-s_server\\n'; sleep 8) 2>/dev/null | " +
           "timeout 15 openssl s_server -accept 127.0.0.1:" + std::to_string(port) +
           " -cert cert.pem -key key.pem -tls1_3 -naccept 1 > s_server.log 2>&1 &)");
  // Listening, seen without connecting (s_server serves one connection: -naccept 1).
  ASSERT_EQ(RunShell("for i in $(seq 50); do ss -Hltn 'sport = :" + std::to_string(port) +
                     "' | grep -q LISTEN && exit 0; sleep 0.1; done; exit 1")
                .exit_code,
            0);
  RunResult r = RunTcpmax({"load", "127.0.0.1:" + std::to_string(port), "-n", "1", "--tls", "--tls-park", "--ca",
                           d + "/cert.pem", "--sni", "localhost", "--message", "ping", "--message-rate", "4/s",
                           "--hold", "4s", "--json"},
                          60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json(r.out);
  EXPECT_EQ(U(j, "session", "tls_parked"), 1u) << r.out;
  uint64_t sent = U(j, "session", "messages_sent");
  EXPECT_GE(sent, 12u);
  // The line s_server sent after its KeyUpdate, opened under the updated key.
  EXPECT_EQ(U(j, "session", "bytes_received"), 14u) << r.out;
  EXPECT_TRUE(j["session"]["errors"].value("tls_record", 0) == 0) << j["session"]["errors"].dump();
  RunShell("sleep 1");
  std::string log = RunShell("cat " + d + "/s_server.log").out;
  size_t pings = 0;
  for (size_t at = log.find("ping"); at != std::string::npos; at = log.find("ping", at + 4)) ++pings;
  // Every message decrypted by OpenSSL, those sealed after our KeyUpdate answer included.
  EXPECT_EQ(pings, sent) << log;
}

TEST(TlsPark, OpenSslClientGetsEchoesFromAParkedServerAcrossAKeyUpdate) {
  Cert cert;
  ASSERT_TRUE(cert.ok());
  const std::string& d = cert.dir();
  uint16_t port = UnusedLoopbackPort();
  RunShell("cd " + d + " && (" + std::string(TCPMAX_BINARY) + " serve --listen 127.0.0.1:" + std::to_string(port) +
           " --mode echo --engine epoll --workers 1 --tls --tls-park --cert cert.pem --key key.pem --duration 12s"
           " --json > serve.json 2> serve.err & echo $! > serve.pid)");
  ASSERT_TRUE(WaitListening(port));
  // s_client: "K" on stdin sends a KeyUpdate that asks for the server's.
  RunResult c = RunShell("cd " + d + " && (sleep 1; printf 'hello-1\\n'; sleep 1; printf 'K\\n'; sleep 1; " +
                             "printf 'hello-2\\n'; sleep 1.5) | timeout 10 openssl s_client -connect 127.0.0.1:" +
                             std::to_string(port) + " -tls1_3 -CAfile cert.pem -servername localhost 2>&1",
                         30);
  EXPECT_NE(c.out.find("Verify return code: 0 (ok)"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("hello-1"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("KEYUPDATE"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("hello-2"), std::string::npos) << c.out;  // sealed under the server's next key
  StopServe(d);
  auto j = Json(RunShell("cat " + d + "/serve.json").out);
  EXPECT_EQ(U(j, "session", "tls_handshakes"), 1u) << j.dump();
  EXPECT_EQ(U(j, "session", "tls_parked"), 1u) << j.dump();
}

// Both sides parked, on each engine (load and serve on the same one).
class TlsParkBoth : public ::testing::TestWithParam<std::string> {};

TEST_P(TlsParkBoth, LoadAndServeBothParkedEchoEveryMessage) {
  const std::string engine = GetParam();
  uint16_t port = UnusedLoopbackPort();
  Cert cert;
  ASSERT_TRUE(cert.ok());
  const std::string& d = cert.dir();
  RunShell("cd " + d + " && (" + std::string(TCPMAX_BINARY) + " serve --listen 127.0.0.1:" + std::to_string(port) +
           " --mode echo --engine " + engine + " --workers 1 --tls --tls-park --cert cert.pem --key key.pem --duration 20s"
           " --json > serve.json 2> serve.err & echo $! > serve.pid)");
  ASSERT_TRUE(WaitListening(port));
  RunResult r = RunTcpmax({"load", "127.0.0.1:" + std::to_string(port), "-n", "2000", "--rate", "1k/s",
                           "--connect-timeout", "30s", "--engine", engine, "--tls", "--tls-park", "--ca", d + "/cert.pem", "--sni",
                           "localhost", "--message", "parked-echo", "--message-rate", "1/s", "--hold", "3s",
                           "--json"},
                          60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  StopServe(d);
  auto j = Json(r.out);
  EXPECT_EQ(j.value("engine", ""), engine);
  EXPECT_EQ(U(j, "session", "ready"), 2000u) << r.out;
  EXPECT_EQ(U(j, "session", "tls_parked"), 2000u) << r.out;
  uint64_t sent = U(j, "session", "messages_sent");
  EXPECT_GE(sent, 4000u);
  EXPECT_EQ(U(j, "session", "messages_received"), sent);
  EXPECT_EQ(U(j, "session", "echo_ok"), sent);
  EXPECT_TRUE(j["session"]["errors"].empty()) << j["session"]["errors"].dump();
  auto s = Json(RunShell("cat " + d + "/serve.json").out);
  EXPECT_EQ(U(s, "session", "tls_parked"), 2000u) << s.dump();
}

INSTANTIATE_TEST_SUITE_P(Engines, TlsParkBoth, ::testing::Values("epoll", "uring"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tcpmax::testing

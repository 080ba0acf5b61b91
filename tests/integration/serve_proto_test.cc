// `tcpmax serve --tls` and `--proto ws` against clients nobody here wrote:
// openssl s_client and curl --http1.1 over TLS, a Python `websockets` client
// (Debian's, /usr/bin/python3) over ws:// and wss://; then tcpmax's own load
// against them; then the bad-input refusals (one line, exit 2).
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

// `tcpmax serve <args>` in the background for at most `seconds`, its stderr
// in a file, waited for until it listens.
class Serve {
 public:
  Serve(const std::string& args, int seconds) {
    char tmpl[] = "/tmp/tcpmax-serve-proto-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = UnusedLoopbackPort();
    RunShell(std::string(TCPMAX_BINARY) + " serve --listen 127.0.0.1:" + std::to_string(port_) + " " + args +
             " --json --duration " + std::to_string(seconds) + "s > " + dir_ + "/out 2> " + dir_ +
             "/err & echo $! > " + dir_ + "/pid");
    listening_ = RunShell("for i in $(seq 50); do nc -z 127.0.0.1 " + std::to_string(port_) +
                          " && exit 0; sleep 0.1; done; exit 1")
                     .exit_code == 0;
  }
  ~Serve() {
    RunShell("kill $(cat " + dir_ + "/pid) 2>/dev/null; sleep 0.3; rm -rf " + dir_);
  }
  // Stops it (SIGTERM) and returns its JSON summary.
  nlohmann::json Summary() {
    RunShell("kill -TERM $(cat " + dir_ + "/pid); for i in $(seq 50); do kill -0 $(cat " + dir_ +
             "/pid) 2>/dev/null || exit 0; sleep 0.1; done");
    auto j = nlohmann::json::parse(RunShell("cat " + dir_ + "/out").out, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  }
  std::string Err() const { return RunShell("cat " + dir_ + "/err").out; }
  bool listening() const { return listening_; }
  uint16_t port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  // The self-signed certificate serve named on stderr.
  std::string CertPath() const {
    std::string err = Err();
    size_t at = err.find("/tmp/tcpmax-serve-tls.");
    if (at == std::string::npos) return "";
    return err.substr(at, err.find(' ', at) - at);
  }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  bool listening_ = false;
};

// Each test runs on both serve engines (and LoadSpeaksWssToServe's load on the same one).
class ServeProto : public ::testing::TestWithParam<std::string> {
 protected:
  std::string E() const { return " --engine " + GetParam(); }
};

bool HavePythonWebsockets() { return RunShell("/usr/bin/python3 -c 'import websockets'").exit_code == 0; }

// A Python websockets client: `n` messages echoed, one ping answered.
std::string PythonClient(const std::string& url, const std::string& ca) {
  return "/usr/bin/python3 - <<'EOF'\n"
         "import asyncio, ssl\nimport websockets\n"
         "async def main():\n"
         "    ctx = None\n" +
         (ca.empty() ? std::string()
                     : "    ctx = ssl.create_default_context(cafile='" + ca + "')\n") +
         "    async with websockets.connect('" + url + "', ssl=ctx, server_hostname='localhost' if ctx else None) as ws:\n"
         "        for i in range(20):\n"
         "            msg = 'message %d ' % i + 'x' * (i * 1000)\n"
         "            await ws.send(msg)\n"
         "            assert await ws.recv() == msg\n"
         "        await ws.send(bytes(range(256)) * 300)\n"
         "        assert await ws.recv() == bytes(range(256)) * 300\n"
         "        pong = await ws.ping(b'hello')\n"
         "        await asyncio.wait_for(pong, 5)\n"
         "    print('echo-ok')\n"
         "asyncio.run(main())\nEOF";
}

TEST_P(ServeProto, TlsSelfSignedAnswersOpensslAndCurl) {
  Serve serve("--tls --mode http --workers 1" + E(), 20);
  ASSERT_TRUE(serve.listening()) << serve.Err();
  std::string ca = serve.CertPath();
  ASSERT_FALSE(ca.empty()) << serve.Err();
  RunResult s = RunShell("echo | openssl s_client -connect " + serve.target() +
                         " -servername localhost -verify_return_error -CAfile " + ca + " 2>&1");
  EXPECT_EQ(s.exit_code, 0) << s.out;
  EXPECT_NE(s.out.find("Verify return code: 0 (ok)"), std::string::npos) << s.out;
  RunResult tls12 = RunShell("echo | openssl s_client -tls1_2 -connect " + serve.target() +
                             " -servername localhost -verify_return_error -CAfile " + ca + " 2>&1");
  EXPECT_NE(tls12.out.find("Protocol  : TLSv1.2"), std::string::npos) << tls12.out;
  RunResult c = RunShell("curl -sS --http1.1 --cacert " + ca + " --resolve localhost:" + std::to_string(serve.port()) +
                         ":127.0.0.1 https://localhost:" + std::to_string(serve.port()) + "/a https://localhost:" +
                         std::to_string(serve.port()) + "/b -w ' %{http_code} %{num_connects}\\n'");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("ok\n 200 1"), std::string::npos) << c.out;  // first request: one connection made
  EXPECT_NE(c.out.find("ok\n 200 0"), std::string::npos) << c.out;  // second: the same connection kept alive
  auto j = serve.Summary();
  EXPECT_GE(j["session"]["tls_handshakes"].get<uint64_t>(), 3u) << j.dump();
  EXPECT_EQ(RunShell("ls -d " + ca + " 2>/dev/null").out, "");  // the pair is removed at exit
}

TEST_P(ServeProto, WebSocketEchoToPythonClientPlainAndTls) {
  if (!HavePythonWebsockets()) GTEST_SKIP() << "SKIPPED: python3-websockets not installed";
  Serve ws("--proto ws --mode echo --workers 1" + E(), 20);
  ASSERT_TRUE(ws.listening()) << ws.Err();
  RunResult r = RunShell(PythonClient("ws://" + ws.target() + "/chat", ""), 30);
  EXPECT_NE(r.out.find("echo-ok"), std::string::npos) << r.out << r.err << ws.Err();
  Serve wss("--proto ws --tls --mode echo --workers 1" + E(), 20);
  ASSERT_TRUE(wss.listening()) << wss.Err();
  RunResult t = RunShell(PythonClient("wss://localhost:" + std::to_string(wss.port()) + "/chat", wss.CertPath()) , 30);
  EXPECT_NE(t.out.find("echo-ok"), std::string::npos) << t.out << t.err << wss.Err();
  auto j = wss.Summary();
  EXPECT_EQ(j.value("engine", ""), GetParam()) << j.dump();
  EXPECT_EQ(j["session"]["ws_upgrades"].get<uint64_t>(), 1u) << j.dump();
  EXPECT_EQ(j["session"]["ws_messages"].get<uint64_t>(), 21u) << j.dump();
  EXPECT_EQ(j["session"]["ws_bad_frames"].get<uint64_t>(), 0u);
}

TEST_P(ServeProto, WebSocketHttpModeAnswersPlainRequestsAndRefusesBadUpgrades) {
  Serve ws("--proto ws --mode http --workers 1" + E(), 20);
  ASSERT_TRUE(ws.listening()) << ws.Err();
  RunResult c = RunShell("curl -sS --http1.1 http://" + ws.target() + "/ -w ' %{http_code}'");
  EXPECT_EQ(c.out, "ok\n 200") << c.err;
  // An upgrade without Sec-WebSocket-Key: 400 (RFC 6455 4.2.2).
  RunResult bad = RunShell("curl -sS --http1.1 -H 'Upgrade: websocket' -H 'Connection: Upgrade' http://" + ws.target() +
                           "/ -o /dev/null -w '%{http_code}'");
  EXPECT_EQ(bad.out, "400") << bad.err;
}

TEST_P(ServeProto, LoadSpeaksWssToServe) {
  Serve wss("--proto ws --tls --tls-release-buffers --mode echo" + E(), 30);
  ASSERT_TRUE(wss.listening()) << wss.Err();
  RunResult r = RunShell(std::string(TCPMAX_BINARY) + " load " + wss.target() + " -n 2000 --rate 2k/s --connect-timeout 30s" + E() + " --proto ws --tls --ca " +
                         wss.CertPath() + " --sni localhost --tls-release-buffers --message hi --message-rate 2/s "
                         "--ping 1s --hold 2s --json", 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["held"].get<uint64_t>(), 2000u) << r.out;
  EXPECT_EQ(j.value("engine", ""), GetParam());
  EXPECT_EQ(j["session"]["ready"].get<uint64_t>(), 2000u) << r.out;
  EXPECT_TRUE(j["session"]["errors"].empty()) << r.out;
  EXPECT_GT(j["session"]["messages_received"].get<uint64_t>(), 2000u);
  EXPECT_EQ(j["session"]["echo_ok"].get<uint64_t>(), j["session"]["messages_received"].get<uint64_t>());
  EXPECT_EQ(j["pongs_bad"].get<uint64_t>(), 0u);
  EXPECT_GT(j["pongs"].get<uint64_t>(), 2000u);
  auto s = wss.Summary();
  EXPECT_EQ(s["session"]["ws_upgrades"].get<uint64_t>(), 2000u) << s.dump();
  EXPECT_EQ(s["session"]["tls_failed"].get<uint64_t>(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, ServeProto, ::testing::Values("epoll", "uring"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(ServeProtoInput, BadInputIsOneLineExit2) {
  std::string t = std::string(TCPMAX_BINARY) + " serve --listen 127.0.0.1:" + std::to_string(UnusedLoopbackPort()) +
                  " --duration 1s ";
  struct Case {
    std::string args, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"--proto quic", "--proto 'quic'"},
           {"--tls --cert /nonexistent/c.pem --key /nonexistent/k.pem", "--cert /nonexistent/c.pem"},
           {"--tls --cert /etc/hostname --key /etc/hostname", "--tls: certificate /etc/hostname"},
           {"--tls --cert /etc/hostname", "--cert and --key"},
           {"--cert /etc/hostname --key /etc/hostname", "need --tls"},
           {"--tls-park", "need --tls"},
       }) {
    RunResult r = RunShell(t + c.args, 20);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace tcpmax::testing

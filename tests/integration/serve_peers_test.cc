// tcpmax serve against peers no one here wrote: wrk and curl drive --mode
// http (keep-alive, pipelining), a Python client echoes through --mode echo,
// over IPv4 and IPv6, with both engines.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "harness.h"
#include "serve_process.h"

namespace tcpmax::testing {
namespace {

class ServePeers : public ::testing::TestWithParam<const char*> {};

TEST_P(ServePeers, WrkWithAThousandConnectionsSeesNoErrors) {
  ServeProcess serve({"--engine", GetParam(), "--mode", "http", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  RunResult r = RunShell(fmt::format("wrk -t 2 -c 1000 -d 3s http://127.0.0.1:{}/", serve.port()), 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("(\\d+) requests in"))) << r.out;
  EXPECT_GT(std::stoull(m[1]), 1000u) << r.out;
  ASSERT_EQ(serve.Stop(SIGTERM), 0);
  const nlohmann::json& s = serve.summary();
  EXPECT_GE(s["peak_held"].get<int>(), 1000) << s.dump();
  EXPECT_TRUE(s["errors"].empty()) << s.dump();
}

TEST_P(ServePeers, CurlGetsOkOnKeepAliveAndPipelinedRequestsGetOneReplyEach) {
  ServeProcess serve({"--engine", GetParam(), "--mode", "http", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  std::string url = fmt::format("http://127.0.0.1:{}/", serve.port());
  RunResult c = RunShell("curl -sS -i " + url + " " + url, 20);  // two requests, one connection
  ASSERT_EQ(c.exit_code, 0) << c.err;
  size_t oks = 0;
  for (size_t p = c.out.find("HTTP/1.1 200 OK"); p != std::string::npos; p = c.out.find("HTTP/1.1 200 OK", p + 1))
    ++oks;
  EXPECT_EQ(oks, 2u) << c.out;
  // Three requests in one write; the responses come back in one stream.
  RunResult p = RunShell(fmt::format(
      "python3 -c \"import socket; s=socket.create_connection(('127.0.0.1',{}));"
      "s.sendall(b'GET /a HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'*3); d=b''\n"
      "while d.count(b'HTTP/1.1 200 OK')<3:\n  b=s.recv(65536)\n  assert b\n  d+=b\nprint(d.count(b'ok\\n'))\"",
      serve.port()), 20);
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out, "3\n") << p.err;
  ASSERT_EQ(serve.Stop(SIGTERM), 0);
}

TEST_P(ServePeers, PythonClientEchoesOverIpv4AndIpv6) {
  ServeProcess serve({"--engine", GetParam(), "--mode", "echo", "--listen", "127.0.0.1:0,[::1]:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  ASSERT_EQ(serve.ready()["listen"].size(), 2u);
  std::string v4 = serve.ready()["listen"][0], v6 = serve.ready()["listen"][1];
  auto port_of = [](const std::string& ep) { return ep.substr(ep.rfind(':') + 1); };
  // 20 connections per family, each sending messages of growing size (up to
  // 256 KiB, past the socket buffers) and checking every byte comes back.
  std::string script = fmt::format(
      "import socket, os\n"
      "for host, port in (('127.0.0.1', {}), ('::1', {})):\n"
      "  conns = [socket.create_connection((host, port)) for _ in range(20)]\n"
      "  for i, s in enumerate(conns):\n"
      "    for size in (1, 100, 4096, 65536, 262144):\n"
      "      msg = os.urandom(size)\n"
      "      s.sendall(msg)\n"
      "      got = b''\n"
      "      while len(got) < size:\n"
      "        b = s.recv(1 << 20)\n"
      "        assert b, 'closed early'\n"
      "        got += b\n"
      "      assert got == msg, (host, i, size)\n"
      "  for s in conns: s.close()\n"
      "print('echo ok')\n",
      port_of(v4), port_of(v6));
  RunResult r = RunShell("python3 -c \"$(cat <<'PYEOF'\n" + script + "PYEOF\n)\"", 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "echo ok\n") << r.err;
  ASSERT_EQ(serve.Stop(SIGTERM), 0);
  const nlohmann::json& s = serve.summary();
  EXPECT_EQ(s["accepted"], 40) << s.dump();
  EXPECT_TRUE(s["errors"].empty()) << s.dump();
}

TEST_P(ServePeers, EchoAfterHalfCloseArrivesWhole) {
  // The client sends 8 MiB, shuts down its write side, then reads to EOF:
  // the server sees EOF while replies are still queued and must deliver them
  // (graceful close), not reset (the listener's SO_LINGER 0).
  ServeProcess serve({"--engine", GetParam(), "--mode", "echo", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  std::string script = fmt::format(
      "import socket, threading, os\n"
      "ok = 0\n"
      "for trial in range(5):\n"
      "  s = socket.create_connection(('127.0.0.1', {}))\n"
      "  msg = os.urandom(8 << 20)\n"
      "  def w():\n"
      "    s.sendall(msg); s.shutdown(socket.SHUT_WR)\n"
      "  t = threading.Thread(target=w); t.start()\n"
      "  got = bytearray()\n"
      "  try:\n"
      "    while True:\n"
      "      b = s.recv(1 << 16)\n"
      "      if not b: break\n"
      "      got += b\n"
      "  except ConnectionResetError:\n"
      "    pass\n"
      "  t.join(); s.close()\n"
      "  ok += bytes(got) == msg\n"
      "print(ok)\n",
      serve.port());
  RunResult r = RunShell("python3 -c \"$(cat <<'PYEOF'\n" + script + "PYEOF\n)\"", 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5\n") << r.err;
  ASSERT_EQ(serve.Stop(SIGTERM), 0);
  EXPECT_EQ(serve.summary()["resets"], 0) << serve.summary().dump();
}

TEST_P(ServePeers, EchoStopsReadingFromAPeerThatDoesNotRead) {
  // The client writes as fast as it can and reads nothing. The server must
  // stop reading once its replies back up (backpressure), so the client's
  // sends stall after a few socket buffers' worth instead of the server
  // swallowing everything into memory; then every byte comes back in order.
  ServeProcess serve({"--engine", GetParam(), "--mode", "echo", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.stderr_text();
  std::string script = fmt::format(
      "import socket, select, os, hashlib, sys\n"
      "s = socket.create_connection(('127.0.0.1', {}))\n"
      "s.setblocking(False)\n"
      "cap = 512 << 20\n"
      "sent, out, h = 0, hashlib.sha256(), b''\n"
      "chunk = b''\n"
      "while sent < cap:\n"
      "  if not chunk: chunk = os.urandom(1 << 20)\n"
      "  try:\n"
      "    n = s.send(chunk)\n"
      "  except BlockingIOError:\n"
      "    if not select.select([], [s], [], 1.5)[1]: break\n"
      "    continue\n"
      "  out.update(chunk[:n]); sent += n; chunk = chunk[n:]\n"
      "print(sent >> 20, file=sys.stderr)\n"
      "with open('/proc/{}/status') as f:\n"
      "  rss = [int(l.split()[1]) for l in f if l.startswith('VmRSS')][0]\n"
      "s.setblocking(True)\n"
      "back, got = hashlib.sha256(), 0\n"
      "while got < sent:\n"
      "  b = s.recv(min(1 << 20, sent - got))\n"
      "  if not b: break\n"
      "  back.update(b); got += len(b)\n"
      "print(sent >> 20, rss >> 10, got == sent and back.digest() == out.digest())\n",
      serve.port(), serve.pid());
  RunResult r = RunShell("/usr/bin/python3 -c \"$(cat <<'PYEOF'\n" + script + "PYEOF\n)\"", 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  uint64_t sent_mib = 0, rss_mib = 0;
  std::string intact;
  in >> sent_mib >> rss_mib >> intact;
  // Socket buffers here hold at most 4 MiB (send) + 32 MiB (receive) a side;
  // without backpressure the server reads all 512 MiB.
  EXPECT_LT(sent_mib, 128u) << r.out << r.err;
  EXPECT_LT(rss_mib, 128u) << "serve's RSS while the peer did not read: " << r.out;
  EXPECT_EQ(intact, "True") << r.out << r.err;
  ASSERT_EQ(serve.Stop(SIGTERM), 0);
  EXPECT_TRUE(serve.summary()["errors"].empty()) << serve.summary().dump();
}

INSTANTIATE_TEST_SUITE_P(Engines, ServePeers, ::testing::Values("epoll", "uring"));

}  // namespace
}  // namespace tcpmax::testing

// The session layer of tcpmax load (SessionDriver) over a socketpair, the
// test playing the server with src/proto's encoders: what each protocol's
// failures are classified as, and that answers are counted and timed.
#include "load/session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "load/stats.h"

namespace tcpmax::load {
namespace {

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds_), 0); }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int client() const { return fds_[0]; }
  // What the session sent so far.
  std::string Sent() {
    std::string out;
    char buf[65536];
    for (ssize_t n; (n = ::recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT)) > 0;) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  void Reply(const std::string& bytes) {
    ASSERT_EQ(::send(fds_[1], bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
  }
  std::unique_ptr<SessionDriver> Driver(const SessionOptions& o) {
    auto d = SessionDriver::Make(o, &stats_, 1);
    EXPECT_TRUE(d);
    return std::move(*d);
  }
  SessionVerdict Read(SessionDriver& d, ClientSession& s, uint64_t now = 1000) {
    int err = 0;
    return d.OnReadable(s, client(), now, &err);
  }

  int fds_[2];
  LoadStats stats_;
};

// The io_uring engine's path: bytes handed in through OnBytes (a completion's
// buffer), bytes out through the engine's SessionTransport, the connection
// named by a handle that is not a descriptor.
class RecordingTransport final : public SessionTransport {
 public:
  ssize_t Send(uint64_t conn, std::string_view bytes) override {
    conns.push_back(conn);
    sent.append(bytes);
    return refuse ? -EPIPE : static_cast<ssize_t>(bytes.size());
  }
  std::string sent;
  std::vector<uint64_t> conns;
  bool refuse = false;
};

TEST_F(SessionTest, CompletionBuffersInTransportOut) {
  SessionOptions o;
  o.proto = proto::Proto::kWs;
  o.message = "over-uring";
  o.message_interval_ns = 1'000'000'000;
  RecordingTransport t;
  auto d = SessionDriver::Make(o, &stats_, 1, &t);
  ASSERT_TRUE(d);
  ClientSession s;
  const uint64_t conn = (uint64_t{3} << 32) | 12345;  // ring 3, slot 12345
  ASSERT_EQ((*d)->Open(s, conn, 9, "127.0.0.1:80", 10), SessionVerdict::kKeep);
  size_t at = t.sent.find("Sec-WebSocket-Key: ");
  ASSERT_NE(at, std::string::npos) << t.sent;
  std::string answer;
  proto::AppendWsUpgradeResponse(answer, t.sent.substr(at + 19, 24));
  // The 101 arrives split in two completions.
  std::string a = answer.substr(0, 7), b = answer.substr(7);
  EXPECT_EQ((*d)->OnBytes(s, conn, reinterpret_cast<uint8_t*>(a.data()), a.size(), 20), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.ready, 0u);
  EXPECT_EQ((*d)->OnBytes(s, conn, reinterpret_cast<uint8_t*>(b.data()), b.size(), 21), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.ready, 1u);
  t.sent.clear();
  EXPECT_EQ((*d)->SendMessage(s, conn, 100), SessionVerdict::kKeep);
  EXPECT_GE(t.sent.size(), 2u + 4u + 10u);  // a masked text frame went to the transport
  std::string echo;
  proto::AppendWsFrame(echo, proto::WsOpcode::kText, "over-uring", true, nullptr);
  EXPECT_EQ((*d)->OnBytes(s, conn, reinterpret_cast<uint8_t*>(echo.data()), echo.size(), 350), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.messages_received, 1u);
  EXPECT_EQ(stats_.session.echo_ok, 1u);
  EXPECT_EQ(stats_.session.message_rtt_ns.count(), 1u);
  for (uint64_t c : t.conns) EXPECT_EQ(c, conn);  // every byte went out on the session's own handle
  // A send the engine refuses closes the session, with the errno counted.
  t.refuse = true;
  EXPECT_EQ((*d)->SendMessage(s, conn, 200), SessionVerdict::kClose);
  EXPECT_EQ(stats_.errors.ByErrno(), (std::vector<std::pair<int, uint64_t>>{{EPIPE, 1}}));
  (*d)->Release(s);
}

TEST_F(SessionTest, StateStaysSmall) {
  // Kept per connection beside the fd table: no buffers in it.
  EXPECT_LE(sizeof(ClientSession), 400u);
}

TEST_F(SessionTest, WebSocketUpgradeEchoPingAndClose) {
  SessionOptions o;
  o.proto = proto::Proto::kWs;
  o.message = "hello";
  o.message_interval_ns = 1'000'000'000;
  auto d = Driver(o);
  ClientSession s;
  ASSERT_EQ(d->Open(s, client(), 7, "127.0.0.1:80", 10), SessionVerdict::kKeep);
  std::string req = Sent();
  size_t at = req.find("Sec-WebSocket-Key: ");
  ASSERT_NE(at, std::string::npos) << req;
  std::string key = req.substr(at + 19, 24);
  std::string answer;
  proto::AppendWsUpgradeResponse(answer, key);
  Reply(answer);
  EXPECT_EQ(Read(*d, s, 20), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.ready, 1u);
  EXPECT_EQ(stats_.session.pending, 0u);
  // A message, echoed back unmasked by the "server": counted, intact, timed.
  EXPECT_EQ(d->SendMessage(s, client(), 100), SessionVerdict::kKeep);
  std::string frame = Sent();
  ASSERT_GE(frame.size(), 2u + 4u + 5u);
  EXPECT_EQ(static_cast<uint8_t>(frame[1]) & 0x80, 0x80);  // client frames are masked (RFC 6455 5.3)
  std::string echo;
  proto::AppendWsFrame(echo, proto::WsOpcode::kText, "hello", true, nullptr);
  Reply(echo);
  EXPECT_EQ(Read(*d, s, 350), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.messages_received, 1u);
  EXPECT_EQ(stats_.session.echo_ok, 1u);
  EXPECT_EQ(stats_.session.message_rtt_ns.count(), 1u);
  EXPECT_GE(stats_.session.message_rtt_ns.max(), 250u);
  // A server ping is answered with a pong carrying the same bytes.
  std::string ping;
  proto::AppendWsFrame(ping, proto::WsOpcode::kPing, "abc", true, nullptr);
  Reply(ping);
  EXPECT_EQ(Read(*d, s), SessionVerdict::kKeep);
  std::string pong = Sent();
  ASSERT_EQ(pong.size(), 2u + 4u + 3u);
  EXPECT_EQ(static_cast<uint8_t>(pong[0]), 0x8A);
  // A wrong echo is a mismatch; a close 1001 ends the session, classified.
  proto::AppendWsFrame(echo, proto::WsOpcode::kText, "HELLO", true, nullptr);
  echo = echo.substr(echo.size() - 7);
  Reply(echo);
  Read(*d, s);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kWsEchoMismatch), 1u);
  std::string close;
  proto::AppendWsClose(close, 1001, "bye", nullptr);
  Reply(close);
  EXPECT_EQ(Read(*d, s), SessionVerdict::kClose);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kWsClose1001), 1u);
  d->Release(s);
}

TEST_F(SessionTest, WebSocketBadAcceptAndMaskedServerFrames) {
  SessionOptions o;
  o.proto = proto::Proto::kWs;
  {
    auto d = Driver(o);
    ClientSession s;
    d->Open(s, client(), 2, "h", 1);
    std::string req = Sent();
    std::string answer;
    proto::AppendWsUpgradeResponse(answer, req.substr(req.find("Sec-WebSocket-Key: ") + 19, 24));
    const uint8_t key[4] = {1, 2, 3, 4};
    proto::AppendWsFrame(answer, proto::WsOpcode::kText, "x", true, key);  // a server must not mask (5.1)
    Reply(answer);
    EXPECT_EQ(Read(*d, s), SessionVerdict::kClose);
    EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kWsMalformed), 1u);
    std::string close = Sent();  // a close 1002 (protocol error) was sent
    ASSERT_GE(close.size(), 8u);
    EXPECT_EQ(static_cast<uint8_t>(close[0]), 0x88);
    d->Release(s);
  }
  {
    auto d = Driver(o);
    ClientSession s;
    d->Open(s, client(), 1, "h", 1);
    Sent();
    std::string answer;
    proto::AppendWsUpgradeResponse(answer, "dGhlIHNhbXBsZSBub25jZQ==");  // not our key
    Reply(answer);
    EXPECT_EQ(Read(*d, s), SessionVerdict::kClose);
    EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kWsBadAccept), 1u);
    d->Release(s);
    EXPECT_EQ(stats_.session.pending, 0u);  // a session that failed opening is not pending any more
  }
}

TEST_F(SessionTest, MqttRefusedAndMalformedConnack) {
  SessionOptions o;
  o.proto = proto::Proto::kMqtt;
  auto d = Driver(o);
  ClientSession s;
  d->Open(s, client(), 3, "h", 1);
  std::string connect = Sent();
  ASSERT_FALSE(connect.empty());
  EXPECT_EQ(static_cast<uint8_t>(connect[0]), 0x10);
  Reply(std::string("\x20\x02\x00\x05", 4));  // CONNACK 5: not authorized
  EXPECT_EQ(Read(*d, s), SessionVerdict::kClose);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kMqttNotAuthorized), 1u);
  d->Release(s);
  ClientSession t;
  d->Open(t, client(), 4, "h", 1);
  Sent();
  Reply(std::string("\x20\x03\x00\x00\x00", 5));  // CONNACK with a wrong length
  EXPECT_EQ(Read(*d, t), SessionVerdict::kClose);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kMqttMalformed), 1u);
  d->Release(t);
}

TEST_F(SessionTest, MqttUnansweredPingreqIsCounted) {
  SessionOptions o;
  o.proto = proto::Proto::kMqtt;
  auto d = Driver(o);
  ClientSession s;
  d->Open(s, client(), 3, "h", 1);
  Sent();
  Reply(std::string("\x20\x02\x00\x00", 4));
  EXPECT_EQ(Read(*d, s), SessionVerdict::kKeep);
  EXPECT_EQ(d->SendPing(s, client(), 100), SessionVerdict::kKeep);
  EXPECT_EQ(Sent(), std::string("\xC0\x00", 2));
  Reply(std::string("\xD0\x00", 2));
  EXPECT_EQ(Read(*d, s, 400), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.pongs, 1u);
  EXPECT_EQ(d->SendPing(s, client(), 500), SessionVerdict::kKeep);
  EXPECT_EQ(d->SendPing(s, client(), 900), SessionVerdict::kClose);  // the previous one never answered
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kMqttNoPingResp), 1u);
  d->Release(s);
}

TEST_F(SessionTest, HttpStatusClassesAndCutResponses) {
  SessionOptions o;
  o.proto = proto::Proto::kHttp;
  o.path = "/x";
  auto d = Driver(o);
  ClientSession s;
  d->Open(s, client(), 0, "127.0.0.1:8080", 1);
  EXPECT_EQ(Sent(), "GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  Reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(Read(*d, s), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.ready, 1u);
  d->SendMessage(s, client(), 10);
  Sent();
  Reply("HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(Read(*d, s), SessionVerdict::kKeep);
  EXPECT_EQ(stats_.session.http_status[4], 1u);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kHttp5xx), 1u);
  d->SendMessage(s, client(), 20);
  Sent();
  Reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(Read(*d, s), SessionVerdict::kKeep);
  ::shutdown(fds_[1], SHUT_WR);  // the server closes inside the body
  EXPECT_EQ(Read(*d, s), SessionVerdict::kClose);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kHttpClosedMidResponse), 1u);
  d->Release(s);
}

TEST_F(SessionTest, IdleTimeoutAndLifetime) {
  SessionOptions o;
  o.idle_timeout_ns = 100;
  o.lifetime_ns = 1000;
  auto d = Driver(o);
  ClientSession s;
  d->Open(s, client(), 0, "h", 10);
  EXPECT_EQ(d->Sweep(s, client(), 50), SessionVerdict::kKeep);
  EXPECT_EQ(d->Sweep(s, client(), 200), SessionVerdict::kClose);
  EXPECT_EQ(stats_.session.errors.Get(proto::ProtoError::kIdleTimeout), 1u);
  ClientSession t;
  SessionOptions churn;
  churn.lifetime_ns = 1000;
  auto c = Driver(churn);
  c->Open(t, client(), 0, "h", 10);
  EXPECT_EQ(c->Sweep(t, client(), 500), SessionVerdict::kKeep);
  EXPECT_EQ(c->Sweep(t, client(), 1010), SessionVerdict::kReopen);
  EXPECT_EQ(stats_.session.reopened, 1u);
  d->Release(s);
  c->Release(t);
}

// --lifetime ends a WebSocket session with a close frame 1000 and waits for
// the peer's; an MQTT session with DISCONNECT.
TEST_F(SessionTest, LifetimeClosesWebSocketAndMqttGracefully) {
  SessionOptions o;
  o.proto = proto::Proto::kWs;
  o.lifetime_ns = 1000;
  o.message = "m";
  o.message_interval_ns = 1'000'000'000;
  auto d = Driver(o);
  for (bool answered : {true, false}) {
    ClientSession s;
    ASSERT_EQ(d->Open(s, client(), 7, "127.0.0.1:80", 10), SessionVerdict::kKeep);
    std::string req = Sent();
    std::string answer;
    proto::AppendWsUpgradeResponse(answer, req.substr(req.find("Sec-WebSocket-Key: ") + 19, 24));
    Reply(answer);
    ASSERT_EQ(Read(*d, s, 20), SessionVerdict::kKeep);
    EXPECT_EQ(d->Sweep(s, client(), 1010), SessionVerdict::kKeep);  // close sent: waiting for the answer
    std::string close = Sent();
    ASSERT_EQ(close.size(), 2u + 4u + 2u);
    EXPECT_EQ(static_cast<uint8_t>(close[0]), 0x88);  // FIN + close
    uint8_t code[2] = {static_cast<uint8_t>(close[6] ^ close[2]), static_cast<uint8_t>(close[7] ^ close[3])};
    EXPECT_EQ(code[0] * 256 + code[1], 1000);  // unmasked: normal closure
    EXPECT_EQ(d->SendMessage(s, client(), 1020), SessionVerdict::kKeep);
    EXPECT_EQ(Sent(), "");  // no data after our close (RFC 6455 5.5.1)
    if (answered) {
      std::string back;
      proto::AppendWsClose(back, 1000, "", nullptr);
      Reply(back);
      EXPECT_EQ(Read(*d, s, 1030), SessionVerdict::kReopen);
      EXPECT_EQ(stats_.session.errors.Total(), 0u);  // our own close answered is no error
    } else {
      EXPECT_EQ(d->Sweep(s, client(), 10 + 1000 + SessionDriver::kCloseWaitNs - 1), SessionVerdict::kKeep);
      EXPECT_EQ(d->Sweep(s, client(), 10 + 1000 + SessionDriver::kCloseWaitNs), SessionVerdict::kReopen);
    }
    d->Release(s);
  }
  EXPECT_EQ(stats_.session.closes_sent, 2u);
  EXPECT_EQ(stats_.session.closes_answered, 1u);
  EXPECT_EQ(stats_.session.reopened, 2u);

  SessionOptions m;
  m.proto = proto::Proto::kMqtt;
  m.lifetime_ns = 1000;
  auto q = Driver(m);
  ClientSession t;
  q->Open(t, client(), 3, "h", 1);
  Sent();
  Reply(std::string("\x20\x02\x00\x00", 4));
  ASSERT_EQ(Read(*q, t), SessionVerdict::kKeep);
  EXPECT_EQ(q->Sweep(t, client(), 1010), SessionVerdict::kReopen);
  EXPECT_EQ(Sent(), std::string("\xE0\x00", 2));  // DISCONNECT (3.14)
  EXPECT_EQ(stats_.session.closes_sent, 3u);
  q->Release(t);
}

}  // namespace
}  // namespace tcpmax::load

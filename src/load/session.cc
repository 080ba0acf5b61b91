#include "load/session.h"

#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "load/connector.h"
#include "load/stats.h"

namespace tcpmax::load {
namespace {

using proto::ProtoError;

// The run's nonce: with the connection index it makes each WebSocket key.
struct Nonce {
  uint8_t bytes[8];
  Nonce() {
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      uint64_t t = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull;
      std::memcpy(bytes, &t, 8);
    }
  }
};

// The WebSocket key of connection `index` (the same nonce for the whole process).
void KeyFor(uint64_t index, char out[25]) {
  static const Nonce nonce;
  uint8_t raw[16];
  std::memcpy(raw, nonce.bytes, 8);
  std::memcpy(raw + 8, &index, 8);
  proto::WsKeyInto(raw, out);
}

std::string_view Topic(uint64_t index, char (&buf)[40]) {
  auto r = fmt::format_to_n(buf, sizeof buf, "tcpmax/{}", index);
  return {buf, r.size};
}

// The epoll engine's transport: the handle is the socket's descriptor.
class SocketTransport final : public SessionTransport {
 public:
  ssize_t Send(uint64_t conn, std::string_view bytes) override {
    ssize_t n = ::send(static_cast<int>(conn), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
  }
};

}  // namespace

Result<std::unique_ptr<SessionDriver>> SessionDriver::Make(const SessionOptions& options, LoadStats* stats,
                                                           uint64_t start_ns, SessionTransport* transport) {
  std::unique_ptr<SessionDriver> d(new SessionDriver(options, stats, start_ns, transport));
  if (options.tls) {
    auto ctx = proto::TlsContext::Create(options.tls_config);
    if (!ctx) return tl::unexpected(ctx.error());
    d->tls_ctx_ = std::move(*ctx);
  }
  return d;
}

SessionDriver::SessionDriver(const SessionOptions& o, LoadStats* stats, uint64_t start_ns,
                             SessionTransport* transport)
    : options_(o), stats_(stats), ss_(stats->session), start_ns_(start_ns), transport_(transport) {
  if (transport_ == nullptr) {
    socket_ = std::make_unique<SocketTransport>();
    transport_ = socket_.get();
  }
  plain_.reserve(4096);
  wire_.reserve(16 * 1024);
}

const uint8_t* SessionDriver::MaskKey() {
  // RFC 6455 5.3: an unpredictable key per frame, from OpenSSL's generator in batches.
  if (mask_pos_ + 4 > sizeof masks_) {
    if (RAND_bytes(masks_, sizeof masks_) != 1) {
      for (size_t i = 0; i < sizeof masks_; ++i) masks_[i] = static_cast<uint8_t>(i * 131 + 7);
    }
    mask_pos_ = 0;
  }
  const uint8_t* k = masks_ + mask_pos_;
  mask_pos_ += 4;
  return k;
}

SessionVerdict SessionDriver::Fail(ProtoError e) {
  ss_.errors.Record(e);
  return SessionVerdict::kClose;
}

SessionVerdict SessionDriver::Open(ClientSession& s, uint64_t conn, uint64_t index, std::string_view target_host,
                                   uint64_t now) {
  Release(s);
  s = ClientSession{};
  s.index = index;
  s.opened_ns = now;
  s.last_rx_ns = now;
  s.phase = Phase::kOpening;
  ++ss_.pending;
  host_ = options_.host.empty() ? target_host : std::string_view(options_.host);
  if (options_.tls) {
    auto t = proto::TlsSession::Open(*tls_ctx_, &tls_io_);
    if (!t) return Fail(ProtoError::kTlsOther);
    s.tls = std::move(*t);
    s.phase = Phase::kTls;
    s.tls.Bind(nullptr, 0, &wire_);
    if (s.tls.Handshake() == proto::TlsStatus::kFailed) return Fail(s.tls.error());
    return Flush(s, conn);
  }
  SessionVerdict v = Begin(s, now);
  if (v != SessionVerdict::kKeep) return v;
  return Flush(s, conn);
}

// The protocol's opening, once TCP (and TLS) is up.
SessionVerdict SessionDriver::Begin(ClientSession& s, uint64_t now) {
  s.phase = Phase::kOpening;
  switch (options_.proto) {
    case proto::Proto::kRaw:
      Ready(s, now);
      break;
    case proto::Proto::kHttp:
      s.parser.emplace<proto::ResponseParser>();
      proto::AppendGetRequest(plain_, host_, options_.path);
      break;
    case proto::Proto::kWs: {
      s.parser.emplace<proto::ResponseParser>();
      char key[25];
      KeyFor(s.index, key);
      proto::AppendWsUpgradeRequest(plain_, host_, options_.path, std::string_view(key, 24));
      break;
    }
    case proto::Proto::kMqtt: {
      s.parser.emplace<proto::MqttParser>();
      char id[48];
      auto r = fmt::format_to_n(id, sizeof id, "tcpmax-{:x}-{}", start_ns_ & 0xFFFFFFFF, s.index);
      proto::AppendMqttConnect(plain_, std::string_view(id, r.size), options_.mqtt_keepalive_s);
      break;
    }
  }
  return SessionVerdict::kKeep;
}

void SessionDriver::Ready(ClientSession& s, uint64_t now) {
  s.phase = Phase::kReady;
  --ss_.pending;
  ++ss_.ready;
  ss_.ready_ns.Record(now > s.opened_ns ? now - s.opened_ns : 1);
  const std::string& first = options_.first_message;
  bool messages = options_.message_interval_ns > 0 || !first.empty();
  switch (options_.proto) {
    case proto::Proto::kRaw:
      plain_ += first;
      s.raw_skip = static_cast<uint32_t>(first.size());
      break;
    case proto::Proto::kHttp:
      break;
    case proto::Proto::kWs:
      if (!first.empty()) {
        proto::AppendWsFrame(plain_, proto::WsOpcode::kText, first, true, MaskKey());
        s.expect_first = true;
      }
      break;
    case proto::Proto::kMqtt: {
      char buf[40];
      // Messages go to the session's own topic, subscribed first, so the
      // broker delivers each one back: that is the round trip.
      if (messages) proto::AppendMqttSubscribe(plain_, 1, Topic(s.index, buf));
      if (!first.empty()) {
        proto::AppendMqttPublish(plain_, Topic(s.index, buf), first);
        s.expect_first = true;
      }
      break;
    }
  }
}

void SessionDriver::Answered(ClientSession& s, uint64_t now) {
  ++ss_.messages_received;
  if (s.outstanding == 0) return;  // an answer to the first message, or unsolicited
  if (--s.outstanding == 0 && s.msg_sent_ns != 0) {
    ss_.message_rtt_ns.Record(now > s.msg_sent_ns ? now - s.msg_sent_ns : 1);
  }
  if (s.outstanding > 0) s.msg_sent_ns = 0;  // the next answer's send time is unknown: not timed
}

SessionVerdict SessionDriver::Flush(ClientSession& s, uint64_t conn) {
  if (!plain_.empty()) {
    ss_.bytes_sent += plain_.size();
    if (options_.tls) {
      s.tls.Bind(nullptr, 0, &wire_);
      proto::TlsStatus st = s.tls.Write(plain_);
      plain_.clear();
      if (st == proto::TlsStatus::kFailed) {
        wire_.clear();
        return Fail(s.tls.error());
      }
    } else {
      wire_ += plain_;
      plain_.clear();
    }
  }
  if (wire_.empty()) return SessionVerdict::kKeep;
  ssize_t n = transport_->Send(conn, wire_);
  size_t want = wire_.size();
  wire_.clear();
  if (n == static_cast<ssize_t>(want)) return SessionVerdict::kKeep;
  if (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK) {
    stats_->errors.Record(static_cast<int>(-n));
    return SessionVerdict::kClose;
  }
  // Part of a record or message cannot be kept back for later without a
  // buffer per connection: the session is lost, and counted.
  return Fail(ProtoError::kSendBlocked);
}

SessionVerdict SessionDriver::OnReadable(ClientSession& s, uint64_t conn, uint64_t now, int* error_out) {
  for (;;) {
    ssize_t n = ::recv(static_cast<int>(conn), rx_, sizeof rx_, MSG_DONTWAIT);
    if (n == 0) return OnPeerClosed(s);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return SessionVerdict::kKeep;
      *error_out = errno;
      OnPeerClosed(s);
      return SessionVerdict::kClose;
    }
    SessionVerdict v = OnBytes(s, conn, rx_, static_cast<size_t>(n), now);
    if (v != SessionVerdict::kKeep) return v;
    if (static_cast<size_t>(n) < sizeof rx_) return SessionVerdict::kKeep;
  }
}

SessionVerdict SessionDriver::OnBytes(ClientSession& s, uint64_t conn, uint8_t* data, size_t n, uint64_t now) {
  s.last_rx_ns = now;
  SessionVerdict v = options_.tls ? OnTlsBytes(s, data, n, now) : OnPlain(s, data, n, now);
  if (v != SessionVerdict::kKeep) {
    Flush(s, conn);  // a close frame or alert we owe the peer, best effort
    return v;
  }
  return Flush(s, conn);
}

SessionVerdict SessionDriver::OnTlsBytes(ClientSession& s, const uint8_t* data, size_t n, uint64_t now) {
  s.tls.Bind(data, n, &wire_);
  if (s.phase == Phase::kTls) {
    proto::TlsStatus hs = s.tls.Handshake();
    if (hs == proto::TlsStatus::kFailed) return Fail(s.tls.error());
    if (hs != proto::TlsStatus::kDone) return SessionVerdict::kKeep;
    ++ss_.tls_done;
    if (s.tls.resumed()) ++ss_.tls_resumed;
    ss_.tls_ns.Record(now > s.opened_ns ? now - s.opened_ns : 1);
    SessionVerdict v = Begin(s, now);
    if (v != SessionVerdict::kKeep) return v;
  }
  for (;;) {
    proto::TlsStatus st;
    bool was_parked = s.tls.parked();
    size_t got = s.tls.Read(plain_rx_, sizeof plain_rx_, &st);
    if (!was_parked && s.tls.parked()) ++ss_.tls_parked;
    if (got > 0) {
      SessionVerdict v = OnPlain(s, plain_rx_, got, now);
      if (v != SessionVerdict::kKeep) return v;
      continue;
    }
    if (st == proto::TlsStatus::kClosed) return OnPeerClosed(s);
    if (st == proto::TlsStatus::kFailed) return Fail(s.tls.error());
    return SessionVerdict::kKeep;
  }
}

SessionVerdict SessionDriver::OnPlain(ClientSession& s, uint8_t* data, size_t n, uint64_t now) {
  ss_.bytes_received += n;
  switch (options_.proto) {
    case proto::Proto::kRaw: return OnRaw(s, n, now);
    case proto::Proto::kHttp: return OnHttp(s, data, n, now);
    case proto::Proto::kWs: return OnWs(s, data, n, now);
    case proto::Proto::kMqtt: return OnMqtt(s, data, n, now);
  }
  return SessionVerdict::kKeep;
}

SessionVerdict SessionDriver::OnRaw(ClientSession& s, size_t n, uint64_t now) {
  // Raw echo accounting: bytes of --first-message pass over, then each
  // message's bytes coming back complete it (content is not compared).
  size_t skip = std::min<size_t>(n, s.raw_skip);
  s.raw_skip -= static_cast<uint32_t>(skip);
  n -= skip;
  while (n > 0 && s.raw_expect > 0) {
    size_t msg = options_.message.size();
    size_t into = s.raw_expect % msg == 0 ? msg : s.raw_expect % msg;  // bytes left of the oldest message
    size_t take = std::min(n, into);
    s.raw_expect -= static_cast<uint32_t>(take);
    n -= take;
    if (take == into) {
      ++ss_.echo_ok;
      Answered(s, now);
    }
  }
  return SessionVerdict::kKeep;
}

SessionVerdict SessionDriver::OnHttp(ClientSession& s, uint8_t* data, size_t n, uint64_t now) {
  auto& p = std::get<proto::ResponseParser>(s.parser);
  while (n > 0) {
    proto::HttpStep st = p.Feed(data, n);
    data += st.used;
    n -= st.used;
    if (st.event == proto::HttpEvent::kError) return Fail(ProtoError::kHttpMalformed);
    if (st.event == proto::HttpEvent::kNone) break;
    int cls = p.status() / 100;
    if (cls >= 1 && cls <= 5) ++ss_.http_status[cls - 1];
    if (p.status() >= 400) ss_.errors.Record(proto::HttpStatusError(p.status()));
    if (s.phase == Phase::kOpening) {
      Ready(s, now);
    } else {
      Answered(s, now);
    }
    if (p.close_after()) return SessionVerdict::kClose;
  }
  return SessionVerdict::kKeep;
}

SessionVerdict SessionDriver::OnWs(ClientSession& s, uint8_t* data, size_t n, uint64_t now) {
  if (s.phase != Phase::kOpening) return OnWsFrames(s, data, n, now);
  auto& p = std::get<proto::ResponseParser>(s.parser);
  proto::HttpStep st = p.Feed(data, n);
  if (st.event == proto::HttpEvent::kError) return Fail(ProtoError::kHttpMalformed);
  if (st.event == proto::HttpEvent::kNone) return SessionVerdict::kKeep;
  // RFC 6455 4.1: 101, Upgrade: websocket, Connection: Upgrade, and the accept for our key.
  if (p.status() != 101) return Fail(ProtoError::kWsUpgradeRefused);
  char key[25], accept[29];
  KeyFor(s.index, key);
  proto::WsAcceptInto(std::string_view(key, 24), accept);
  const proto::HeaderFacts& f = p.facts();
  if (!f.upgrade_websocket || !f.connection_upgrade || std::memcmp(f.ws_accept, accept, 28) != 0) {
    return Fail(ProtoError::kWsBadAccept);
  }
  s.parser.emplace<proto::WsFrameParser>(/*server=*/false);
  Ready(s, now);
  return OnWsFrames(s, data + st.used, n - st.used, now);
}

SessionVerdict SessionDriver::OnWsFrames(ClientSession& s, uint8_t* data, size_t n, uint64_t now) {
  auto& p = std::get<proto::WsFrameParser>(s.parser);
  std::string* control = s.control ? s.control.get() : &control_;
  if (!s.control) control_.clear();
  for (;;) {
    proto::WsStep st = p.Feed(data, n);
    data += st.used;
    n -= st.used;
    switch (st.event) {
      case proto::WsEvent::kNone:
        if (s.in_control && !s.control) s.control = std::make_unique<std::string>(control_);  // split: keep it
        return SessionVerdict::kKeep;
      case proto::WsEvent::kError:
        ss_.errors.Record(ProtoError::kWsMalformed);
        proto::AppendWsClose(plain_, 1002, "", MaskKey());
        return SessionVerdict::kClose;
      case proto::WsEvent::kFrameStart:
        s.in_control = (static_cast<uint8_t>(p.opcode()) & 0x8) != 0;
        if (s.in_control) {
          control->clear();
        } else if (p.opcode() != proto::WsOpcode::kContinuation) {
          s.echo_pos = 0;
          s.echo_bad = false;
        }
        break;
      case proto::WsEvent::kData:
        if (s.in_control) {
          control->append(reinterpret_cast<const char*>(st.data), st.len);
        } else {
          const std::string& want = s.expect_first ? options_.first_message : options_.message;
          if (s.echo_pos + st.len > want.size() || std::memcmp(want.data() + s.echo_pos, st.data, st.len) != 0) {
            s.echo_bad = true;
          }
          s.echo_pos += static_cast<uint32_t>(st.len);
        }
        break;
      case proto::WsEvent::kFrameEnd: {
        if (s.in_control) {
          SessionVerdict v = OnWsControl(s, p.opcode(), *control, now);
          s.in_control = false;
          s.control.reset();
          control = &control_;
          if (v != SessionVerdict::kKeep) return v;
          break;
        }
        if (!p.fin()) break;
        const std::string& want = s.expect_first ? options_.first_message : options_.message;
        if (!want.empty()) {
          if (!s.echo_bad && s.echo_pos == want.size()) {
            ++ss_.echo_ok;
          } else {
            ss_.errors.Record(ProtoError::kWsEchoMismatch);
          }
        }
        if (s.expect_first) {
          s.expect_first = false;  // the echo of --first-message: intact or not, not a message answered
        } else {
          Answered(s, now);
        }
        break;
      }
    }
  }
}

SessionVerdict SessionDriver::OnWsControl(ClientSession& s, proto::WsOpcode op, const std::string& payload,
                                          uint64_t now) {
  switch (op) {
    case proto::WsOpcode::kPing:  // 5.5.2: answer with a pong carrying the same data
      proto::AppendWsFrame(plain_, proto::WsOpcode::kPong, payload, true, MaskKey());
      return SessionVerdict::kKeep;
    case proto::WsOpcode::kPong: {
      uint64_t rtt = payload.size() == kPingBytes
                         ? PongRtt(reinterpret_cast<const uint8_t*>(payload.data()), now, start_ns_)
                         : 0;
      if (rtt == 0) {
        ++stats_->pongs_bad;
      } else {
        ++stats_->pongs;
        stats_->rtt_ns.Record(rtt);
      }
      return SessionVerdict::kKeep;
    }
    case proto::WsOpcode::kClose: {
      if (s.closing) {  // the answer to our close at --lifetime: the handshake is complete
        ++ss_.closes_answered;
        ++ss_.reopened;
        return SessionVerdict::kReopen;
      }
      // 5.5.1: answer the close with a close; the server then closes TCP.
      uint16_t code = payload.size() >= 2 ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
                                          : 1005;
      ss_.errors.Record(proto::WsCloseError(code));
      proto::AppendWsClose(plain_, code == 1005 ? 1000 : code, "", MaskKey());
      return SessionVerdict::kClose;
    }
    default:
      return SessionVerdict::kKeep;
  }
}

SessionVerdict SessionDriver::OnMqtt(ClientSession& s, uint8_t* data, size_t n, uint64_t now) {
  auto& p = std::get<proto::MqttParser>(s.parser);
  for (;;) {
    proto::MqttStep st = p.Feed(data, n);
    data += st.used;
    n -= st.used;
    switch (st.event) {
      case proto::MqttEvent::kNone:
        return SessionVerdict::kKeep;
      case proto::MqttEvent::kError:
        return Fail(ProtoError::kMqttMalformed);
      case proto::MqttEvent::kConnack:
        if (p.connack_code() != 0) return Fail(proto::ConnackError(p.connack_code()));
        Ready(s, now);
        break;
      case proto::MqttEvent::kPingresp:
        if (s.ping_outstanding) {
          s.ping_outstanding = false;
          ++stats_->pongs;
          stats_->rtt_ns.Record(now > s.ping_sent_ns ? now - s.ping_sent_ns : 1);
        } else {
          ++stats_->pongs_bad;
        }
        break;
      case proto::MqttEvent::kSuback:
        if (p.suback_code() == 0x80) return Fail(ProtoError::kMqttNotAuthorized);
        break;
      case proto::MqttEvent::kPublishStart:
        s.echo_pos = 0;
        s.echo_bad = false;
        break;
      case proto::MqttEvent::kData: {
        const std::string& want = s.expect_first ? options_.first_message : options_.message;
        if (s.echo_pos + st.len > want.size() || std::memcmp(want.data() + s.echo_pos, st.data, st.len) != 0) {
          s.echo_bad = true;
        }
        s.echo_pos += static_cast<uint32_t>(st.len);
        break;
      }
      case proto::MqttEvent::kPublishEnd: {
        const std::string& want = s.expect_first ? options_.first_message : options_.message;
        if (!s.echo_bad && s.echo_pos == want.size()) {
          ++ss_.echo_ok;
        } else {
          ss_.errors.Record(ProtoError::kWsEchoMismatch);
        }
        if (s.expect_first) {
          s.expect_first = false;  // the echo of --first-message: intact or not, not a message answered
        } else {
          Answered(s, now);
        }
        break;
      }
    }
  }
}

SessionVerdict SessionDriver::OnPeerClosed(ClientSession& s) {
  if (s.closing) {  // closed after our close frame, without its answer
    ++ss_.reopened;
    return SessionVerdict::kReopen;
  }
  switch (options_.proto) {
    case proto::Proto::kHttp: {
      auto* p = std::get_if<proto::ResponseParser>(&s.parser);
      if (p && !p->OnClose() && (p->mid_message() || s.outstanding > 0 || s.phase == Phase::kOpening)) {
        ss_.errors.Record(ProtoError::kHttpClosedMidResponse);
      }
      break;
    }
    case proto::Proto::kWs:
      ss_.errors.Record(s.phase == Phase::kReady ? ProtoError::kWsClose1006 : ProtoError::kWsUpgradeRefused);
      break;
    case proto::Proto::kMqtt:
      if (s.phase != Phase::kReady) ss_.errors.Record(ProtoError::kMqttUnavailable);
      break;
    case proto::Proto::kRaw:
      break;
  }
  if (options_.tls && s.phase == Phase::kTls) ss_.errors.Record(ProtoError::kTlsOther);
  return SessionVerdict::kClose;
}

SessionVerdict SessionDriver::SendMessage(ClientSession& s, uint64_t conn, uint64_t now) {
  if (s.phase != Phase::kReady || s.closing) return SessionVerdict::kKeep;  // 5.5.1: no data after our close
  const std::string& m = options_.message;
  switch (options_.proto) {
    case proto::Proto::kRaw:
      plain_ += m;
      s.raw_expect += static_cast<uint32_t>(m.size());
      break;
    case proto::Proto::kHttp:
      proto::AppendGetRequest(plain_, host_, options_.path);
      break;
    case proto::Proto::kWs:
      proto::AppendWsFrame(plain_, proto::WsOpcode::kText, m, true, MaskKey());
      break;
    case proto::Proto::kMqtt: {
      char buf[40];
      proto::AppendMqttPublish(plain_, Topic(s.index, buf), m);
      break;
    }
  }
  ++ss_.messages_sent;
  if (s.outstanding++ == 0) s.msg_sent_ns = now;
  return Flush(s, conn);
}

SessionVerdict SessionDriver::SendPing(ClientSession& s, uint64_t conn, uint64_t now) {
  if (s.phase != Phase::kReady || s.closing) return SessionVerdict::kKeep;
  if (options_.proto == proto::Proto::kWs) {
    uint8_t probe[kPingBytes];
    std::memcpy(probe, &kPingMagic, 8);
    std::memcpy(probe + 8, &now, 8);
    proto::AppendWsFrame(plain_, proto::WsOpcode::kPing,
                         std::string_view(reinterpret_cast<const char*>(probe), sizeof probe), true, MaskKey());
  } else if (options_.proto == proto::Proto::kMqtt) {
    if (s.ping_outstanding) return Fail(ProtoError::kMqttNoPingResp);
    proto::AppendMqttPingreq(plain_);
    s.ping_outstanding = true;
    s.ping_sent_ns = now;
  } else {
    return SessionVerdict::kKeep;
  }
  ++stats_->pings_sent;
  return Flush(s, conn);
}

SessionVerdict SessionDriver::Sweep(ClientSession& s, uint64_t conn, uint64_t now) {
  if (s.phase == Phase::kIdle) return SessionVerdict::kKeep;
  if (s.closing) {
    if (now - s.opened_ns < options_.lifetime_ns + kCloseWaitNs) return SessionVerdict::kKeep;
    ++ss_.reopened;  // the peer never answered our close: counted as sent, not answered
    return SessionVerdict::kReopen;
  }
  if (options_.idle_timeout_ns > 0 && now > s.last_rx_ns && now - s.last_rx_ns >= options_.idle_timeout_ns) {
    return Fail(ProtoError::kIdleTimeout);
  }
  if (options_.lifetime_ns == 0 || now - s.opened_ns < options_.lifetime_ns) return SessionVerdict::kKeep;
  if (s.phase == Phase::kReady && options_.proto == proto::Proto::kWs) {
    // RFC 6455 7.1.2: start the closing handshake; the peer answers with its close (5.5.1).
    proto::AppendWsClose(plain_, 1000, "", MaskKey());
    s.closing = true;
    ++ss_.closes_sent;
    return Flush(s, conn);
  }
  if (s.phase == Phase::kReady && options_.proto == proto::Proto::kMqtt) {
    proto::AppendMqttDisconnect(plain_);  // 3.14: the client's last packet, then it closes
    ++ss_.closes_sent;
    if (Flush(s, conn) != SessionVerdict::kKeep) return SessionVerdict::kClose;
  }
  ++ss_.reopened;
  return SessionVerdict::kReopen;
}

void SessionDriver::Release(ClientSession& s) {
  if (s.phase == Phase::kTls || s.phase == Phase::kOpening) --ss_.pending;
  s.tls = proto::TlsSession();
  s.control.reset();
  s.parser.emplace<std::monostate>();
  s.phase = Phase::kIdle;
}

}  // namespace tcpmax::load

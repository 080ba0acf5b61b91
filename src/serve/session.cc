#include "serve/session.h"

#include <cstring>

#include "serve/server.h"

namespace tcpmax::serve {
namespace {

constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

bool IsControl(proto::WsOpcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

// A server frame header (unmasked, RFC 6455 5.2) for `len` payload bytes.
void AppendHeader(std::string* out, uint8_t first_byte, uint64_t len) {
  out->push_back(static_cast<char>(first_byte));
  if (len < 126) {
    out->push_back(static_cast<char>(len));
  } else if (len <= 0xFFFF) {
    out->push_back(126);
    out->push_back(static_cast<char>(len >> 8));
    out->push_back(static_cast<char>(len));
  } else {
    out->push_back(127);
    for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(len >> (8 * i)));
  }
}

}  // namespace

bool ServerSessionDriver::Open(ServerSession& s) {
  s = ServerSession{};
  if (setup_.tls) {
    auto t = proto::TlsSession::Open(*setup_.tls, &io_);
    if (!t) return false;
    s.tls = std::move(*t);
    s.phase = ServerSession::Phase::kTls;
    return true;
  }
  s.phase = setup_.ws ? ServerSession::Phase::kHttp : ServerSession::Phase::kIdle;
  if (setup_.ws) s.parser.emplace<proto::RequestParser>();
  return true;
}

void ServerSessionDriver::Release(ServerSession& s) {
  s.tls = proto::TlsSession();
  s.parser.emplace<std::monostate>();
  s.phase = ServerSession::Phase::kIdle;
}

bool ServerSessionDriver::OnBytes(ServerSession& s, uint8_t* data, size_t n, std::string* out) {
  if (!setup_.tls) return OnPlain(s, data, n, out);
  s.tls.Bind(data, n, out);
  if (s.phase == ServerSession::Phase::kTls) {
    proto::TlsStatus hs = s.tls.Handshake();
    if (hs == proto::TlsStatus::kFailed) {
      ++counts_.tls_failed;
      return false;  // the alert OpenSSL wrote is in *out
    }
    if (hs != proto::TlsStatus::kDone) return true;
    ++counts_.tls_done;
    s.phase = setup_.ws ? ServerSession::Phase::kHttp : ServerSession::Phase::kIdle;
    if (setup_.ws) s.parser.emplace<proto::RequestParser>();
  }
  bool keep = true;
  while (keep) {
    proto::TlsStatus st;
    bool was_parked = s.tls.parked();
    size_t got = s.tls.Read(plain_rx_, sizeof plain_rx_, &st);
    if (!was_parked && s.tls.parked()) ++counts_.tls_parked;
    if (got == 0) {
      if (st == proto::TlsStatus::kClosed || st == proto::TlsStatus::kFailed) keep = false;
      break;
    }
    plain_.clear();
    keep = OnPlain(s, plain_rx_, got, &plain_);
    // Replies are encrypted into *out, which the session is bound to; the
    // unread input stays bound for the next Read.
    if (!plain_.empty() && s.tls.Write(plain_) == proto::TlsStatus::kFailed) return false;
  }
  return keep;
}

bool ServerSessionDriver::OnPlain(ServerSession& s, uint8_t* data, size_t n, std::string* out) {
  switch (s.phase) {
    case ServerSession::Phase::kHttp: return OnRequests(s, data, n, out);
    case ServerSession::Phase::kWs: return OnFrames(s, data, n, out);
    default: break;
  }
  if (mode_ == ServeMode::kEcho) {
    out->append(reinterpret_cast<const char*>(data), n);
  } else if (mode_ == ServeMode::kHttp) {
    size_t requests = CountHttpRequests(std::string_view(reinterpret_cast<const char*>(data), n), &s.scan);
    for (; requests > 0; requests -= std::min(requests, kHttpBatch)) {
      out->append(HttpResponses(std::min(requests, kHttpBatch)));
    }
  }
  return true;
}

// Requests before the upgrade (RFC 6455 4.2.1): the opening handshake, or
// in http mode plain requests answered 200.
bool ServerSessionDriver::OnRequests(ServerSession& s, uint8_t* data, size_t n, std::string* out) {
  auto& p = std::get<proto::RequestParser>(s.parser);
  while (n > 0) {
    proto::HttpStep st = p.Feed(data, n);
    data += st.used;
    n -= st.used;
    if (st.event == proto::HttpEvent::kError) {
      ++counts_.ws_refused;
      out->append(kBadRequest);
      return false;
    }
    if (st.event == proto::HttpEvent::kNone) return true;
    const proto::HeaderFacts& f = p.facts();
    bool upgrade = p.is_get() && f.upgrade_websocket && f.connection_upgrade && f.ws_version_13 && f.ws_key[0] != 0;
    if (!upgrade) {
      if (mode_ == ServeMode::kHttp && !f.upgrade_websocket) {
        out->append(HttpResponse());
        if (!p.keep_alive()) return false;
        continue;
      }
      ++counts_.ws_refused;
      out->append(kBadRequest);
      return false;
    }
    proto::AppendWsUpgradeResponse(*out, std::string_view(f.ws_key, 24));
    ++counts_.ws_upgrades;
    s.parser.emplace<proto::WsFrameParser>(/*server=*/true);
    s.phase = ServerSession::Phase::kWs;
    return OnFrames(s, data, n, out);
  }
  return true;
}

// Frames from a client (masked): pings answered, closes echoed, and in echo
// and http modes every data frame streamed back as it is unmasked.
bool ServerSessionDriver::OnFrames(ServerSession& s, uint8_t* data, size_t n, std::string* out) {
  auto& p = std::get<proto::WsFrameParser>(s.parser);
  for (;;) {
    proto::WsStep st = p.Feed(data, n);
    data += st.used;
    n -= st.used;
    switch (st.event) {
      case proto::WsEvent::kNone:
        return !s.close_after;
      case proto::WsEvent::kError:
        ++counts_.ws_bad_frames;
        proto::AppendWsClose(*out, 1002, "", nullptr);  // 7.4.1: protocol error
        return false;
      case proto::WsEvent::kFrameStart: {
        proto::WsOpcode op = p.opcode();
        bool control = IsControl(op);
        s.echo_frame = control ? op != proto::WsOpcode::kPong : mode_ != ServeMode::kHold;
        if (s.echo_frame) {
          proto::WsOpcode reply = op == proto::WsOpcode::kPing ? proto::WsOpcode::kPong : op;
          AppendHeader(out, static_cast<uint8_t>((p.fin() ? 0x80 : 0) | static_cast<uint8_t>(reply)),
                       p.payload_length());
        }
        if (op == proto::WsOpcode::kClose) s.close_after = true;  // 5.5.1: echo the close, then end
        break;
      }
      case proto::WsEvent::kData:
        if (s.echo_frame) out->append(reinterpret_cast<const char*>(st.data), st.len);
        break;
      case proto::WsEvent::kFrameEnd:
        if (!IsControl(p.opcode()) && p.fin()) ++counts_.ws_messages;
        if (s.close_after) return false;
        break;
    }
  }
}

}  // namespace tcpmax::serve

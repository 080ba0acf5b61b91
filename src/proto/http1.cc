#include "proto/http1.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tcpmax::proto {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (EqualsNoCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool IsTchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

size_t LineReader::Feed(const uint8_t* data, size_t n, bool* done) {
  *done = false;
  const void* lf = std::memchr(data, '\n', n);
  size_t take = lf ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - data) : n;
  for (size_t i = 0; i < take && kept_ < kKeep; ++i) buf_[kept_++] = static_cast<char>(data[i]);
  length_ += static_cast<uint32_t>(std::min<size_t>(take, UINT32_MAX - length_));
  if (!lf) return n;
  // Drop the CR of CR LF (it is the last byte of the line if we kept it).
  if (length_ > 0 && length_ <= kKeep && buf_[kept_ - 1] == '\r') {
    --kept_;
    --length_;
  } else if (length_ > kKeep) {
    --length_;  // a CR past kKeep: the length only
  }
  *done = true;
  return take + 1;
}

// --- header facts (RFC 9112 section 5, RFC 9110 section 5) ---

bool HeaderFacts::Apply(const LineReader& line) {
  if (++lines > kMaxHeaderLines) return false;
  bytes += line.length() + 2;
  if (bytes > kMaxHeaderBytes) return false;
  std::string_view l = line.line();
  size_t colon = l.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return line.truncated();  // a name longer than we keep: skipped, not parsed
  }
  std::string_view name = l.substr(0, colon);
  for (char c : name) {
    if (!IsTchar(c)) return false;  // RFC 9112 5.1: no whitespace before the colon
  }
  std::string_view value = Trim(l.substr(colon + 1));
  if (EqualsNoCase(name, "content-length")) {
    if (line.truncated() || value.empty()) return false;
    int64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size() || v < 0) return false;
    if (content_length >= 0 && content_length != v) return false;  // RFC 9112 6.3 item 5
    content_length = v;
  } else if (EqualsNoCase(name, "transfer-encoding")) {
    if (line.truncated()) return false;
    // Only "chunked" is understood, and it must be the final coding (6.3 item 4).
    size_t last = value.rfind(',');
    std::string_view final_coding = Trim(last == std::string_view::npos ? value : value.substr(last + 1));
    if (!EqualsNoCase(final_coding, "chunked")) return false;
    chunked = true;
  } else if (EqualsNoCase(name, "connection")) {
    if (HasToken(value, "close")) connection_close = true;
    if (HasToken(value, "upgrade")) connection_upgrade = true;
  } else if (EqualsNoCase(name, "upgrade")) {
    if (HasToken(value, "websocket")) upgrade_websocket = true;
  } else if (EqualsNoCase(name, "sec-websocket-version")) {
    ws_version_13 = value == "13";
  } else if (EqualsNoCase(name, "sec-websocket-key")) {
    if (line.truncated() || value.size() != 24) return false;
    std::memcpy(ws_key, value.data(), 24);
  } else if (EqualsNoCase(name, "sec-websocket-accept")) {
    if (line.truncated() || value.size() != 28) return false;
    std::memcpy(ws_accept, value.data(), 28);
  }
  return true;
}

// --- body framing (RFC 9112 sections 6 and 7.1) ---

void BodyReader::Start(Mode mode, uint64_t length) {
  mode_ = mode;
  left_ = length;
  chunk_ = Chunk::kSize;
  line_.Reset();
}

bool BodyReader::OnSizeLine() {
  // chunk-size [ chunk-ext ]: hex digits, then optionally ';' extensions.
  std::string_view l = line_.line();
  size_t digits = 0;
  uint64_t v = 0;
  while (digits < l.size()) {
    char c = Lower(l[digits]);
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) break;
    if (digits >= 15) return false;  // past 2^60: refuse rather than overflow
    v = v * 16 + static_cast<uint64_t>(d);
    ++digits;
  }
  if (digits == 0) return false;
  std::string_view rest = Trim(l.substr(digits));
  if (!rest.empty() && rest.front() != ';') return false;
  left_ = v;
  chunk_ = v == 0 ? Chunk::kTrailer : Chunk::kData;
  return true;
}

bool BodyReader::Feed(const uint8_t* data, size_t n, size_t* used, bool* done) {
  *used = 0;
  *done = false;
  switch (mode_) {
    case Mode::kNone:
      *done = true;
      return true;
    case Mode::kUntilClose:
      *used = n;
      return true;
    case Mode::kLength: {
      size_t take = static_cast<size_t>(std::min<uint64_t>(left_, n));
      left_ -= take;
      *used = take;
      *done = left_ == 0;
      return true;
    }
    case Mode::kChunked:
      break;
  }
  size_t off = 0;
  while (off < n) {
    bool line_done = false;
    switch (chunk_) {
      case Chunk::kSize:
        off += line_.Feed(data + off, n - off, &line_done);
        if (line_done) {
          if (line_.truncated() && line_.length() > 1024) return false;
          if (!OnSizeLine()) return false;
          line_.Reset();
        }
        break;
      case Chunk::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(left_, n - off));
        left_ -= take;
        off += take;
        if (left_ == 0) chunk_ = Chunk::kDataCrlf;
        break;
      }
      case Chunk::kDataCrlf:
        off += line_.Feed(data + off, n - off, &line_done);
        if (line_done) {
          if (line_.length() != 0) return false;  // chunk-data must end in CRLF
          line_.Reset();
          chunk_ = Chunk::kSize;
        }
        break;
      case Chunk::kTrailer:
        off += line_.Feed(data + off, n - off, &line_done);
        if (line_done) {
          bool empty = line_.length() == 0;
          line_.Reset();
          if (empty) {
            *used = off;
            *done = true;
            mode_ = Mode::kNone;
            return true;
          }
        }
        break;
    }
  }
  *used = off;
  return true;
}

// --- responses ---

bool ResponseParser::OnStatusLine() {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4)
  std::string_view l = line_.line();
  if (l.size() < 12 || l.substr(0, 7) != "HTTP/1." || l[7] < '0' || l[7] > '9' || l[8] != ' ') return false;
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (l[i] < '0' || l[i] > '9') return false;
    code = code * 10 + (l[i] - '0');
  }
  if (code < 100 || (l.size() > 12 && l[12] != ' ')) return false;
  status_ = code;
  facts_ = HeaderFacts{};
  if (l[7] == '0') facts_.connection_close = true;  // HTTP/1.0 closes unless told otherwise
  return true;
}

HttpStep ResponseParser::Finish(size_t used) {
  state_ = State::kStatus;
  return {used, HttpEvent::kMessage};
}

HttpStep ResponseParser::Feed(const uint8_t* data, size_t n) {
  size_t off = 0;
  while (off < n || state_ == State::kBody) {
    bool done = false;
    switch (state_) {
      case State::kError:
        return {off, HttpEvent::kError};
      case State::kStatus:
        off += line_.Feed(data + off, n - off, &done);
        if (line_.length() > 512) {
          state_ = State::kError;
          break;
        }
        if (!done) break;
        if (!OnStatusLine()) state_ = State::kError; else state_ = State::kHeaders;
        line_.Reset();
        break;
      case State::kHeaders:
        off += line_.Feed(data + off, n - off, &done);
        if (!done) {
          if (line_.length() > kMaxHeaderBytes) state_ = State::kError;
          break;
        }
        if (line_.length() == 0) {  // end of the header section
          line_.Reset();
          // RFC 9112 6.3: 1xx, 204 and 304 have no body; 101 ends HTTP here.
          if (status_ < 200 || status_ == 204 || status_ == 304) {
            if (status_ == 101 || status_ >= 200) return Finish(off);
            state_ = State::kStatus;  // an interim 1xx: the real answer follows
            break;
          }
          if (facts_.chunked) {
            body_.Start(BodyReader::Mode::kChunked, 0);
          } else if (facts_.content_length >= 0) {
            body_.Start(BodyReader::Mode::kLength, static_cast<uint64_t>(facts_.content_length));
          } else {
            body_.Start(BodyReader::Mode::kUntilClose, 0);
            facts_.connection_close = true;
          }
          state_ = State::kBody;
          break;
        }
        if (!facts_.Apply(line_)) state_ = State::kError;
        line_.Reset();
        break;
      case State::kBody: {
        size_t used = 0;
        if (!body_.Feed(data + off, n - off, &used, &done)) {
          state_ = State::kError;
          break;
        }
        off += used;
        if (done) return Finish(off);
        if (off == n) return {off, HttpEvent::kNone};
        break;
      }
    }
  }
  return {off, state_ == State::kError ? HttpEvent::kError : HttpEvent::kNone};
}

bool ResponseParser::OnClose() {
  if (state_ == State::kBody && body_.until_close()) {
    state_ = State::kStatus;
    return true;
  }
  return false;
}

// --- requests (server side) ---

bool RequestParser::OnRequestLine() {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 3)
  std::string_view l = line_.line();
  if (line_.truncated()) {
    // A long target: only the method and the version's place matter to us;
    // the version is past what we kept, so assume HTTP/1.1.
    size_t sp = l.find(' ');
    if (sp == std::string_view::npos || sp == 0) return false;
    get_ = l.substr(0, sp) == "GET";
    http10_ = false;
    return true;
  }
  size_t sp1 = l.find(' ');
  size_t sp2 = l.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp2 == sp1) return false;
  for (char c : l.substr(0, sp1)) {
    if (!IsTchar(c)) return false;
  }
  std::string_view version = l.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1.") return false;
  get_ = l.substr(0, sp1) == "GET";
  http10_ = version[7] == '0';
  facts_ = HeaderFacts{};
  return true;
}

HttpStep RequestParser::Feed(const uint8_t* data, size_t n) {
  size_t off = 0;
  while (off < n) {
    bool done = false;
    switch (state_) {
      case State::kError:
        return {off, HttpEvent::kError};
      case State::kRequestLine:
        off += line_.Feed(data + off, n - off, &done);
        if (line_.length() > 8192) {
          state_ = State::kError;
          break;
        }
        if (!done) break;
        if (line_.length() == 0) break;  // RFC 9112 2.2: ignore empty lines before a request
        facts_ = HeaderFacts{};
        state_ = OnRequestLine() ? State::kHeaders : State::kError;
        line_.Reset();
        break;
      case State::kHeaders:
        off += line_.Feed(data + off, n - off, &done);
        if (!done) {
          if (line_.length() > kMaxHeaderBytes) state_ = State::kError;
          break;
        }
        if (line_.length() == 0) {
          line_.Reset();
          // RFC 9112 6.3 items 6-7: a request without framing has no body.
          if (facts_.chunked) {
            body_.Start(BodyReader::Mode::kChunked, 0);
          } else {
            body_.Start(BodyReader::Mode::kLength, static_cast<uint64_t>(std::max<int64_t>(0, facts_.content_length)));
          }
          state_ = State::kBody;
          if (!facts_.chunked && facts_.content_length <= 0) {
            state_ = State::kRequestLine;
            return {off, HttpEvent::kMessage};
          }
          break;
        }
        if (!facts_.Apply(line_)) state_ = State::kError;
        line_.Reset();
        break;
      case State::kBody: {
        size_t used = 0;
        if (!body_.Feed(data + off, n - off, &used, &done)) {
          state_ = State::kError;
          break;
        }
        off += used;
        if (done) {
          state_ = State::kRequestLine;
          return {off, HttpEvent::kMessage};
        }
        break;
      }
    }
  }
  return {off, state_ == State::kError ? HttpEvent::kError : HttpEvent::kNone};
}

void AppendGetRequest(std::string& out, std::string_view host, std::string_view path, std::string_view extra) {
  out.append("GET ").append(path.empty() ? "/" : path).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  out.append(extra).append("\r\n");
}

}  // namespace tcpmax::proto

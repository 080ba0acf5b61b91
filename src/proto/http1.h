// HTTP/1.1 (RFC 9112) as byte-level state machines with no I/O: the client
// request a load connection sends, the parser of the responses it gets back
// (Content-Length, chunked, or until close), and the parser of requests a
// server reads (used by `serve` and by the WebSocket upgrade).
//
// Both parsers are fed whatever bytes arrived, split anywhere; Feed() returns
// how many it consumed and stops right after each complete message, so the
// caller handles one message before feeding the rest. They keep a fixed,
// small state (no allocation): of each header line only the first
// LineReader::kKeep bytes are kept, which is all the fields they look at need
// (a longer Content-Length or Sec-WebSocket-* line is an error, others are
// skipped). Thread-safety: none; one owner per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpmax::proto {

// Reads one line (ending in LF; a CR before it is dropped, RFC 9112 2.2)
// keeping its first kKeep bytes.
class LineReader {
 public:
  static constexpr size_t kKeep = 64;
  // Consumes up to and including the next LF; sets *done when the line ended.
  size_t Feed(const uint8_t* data, size_t n, bool* done);
  std::string_view line() const { return {buf_, kept_}; }
  bool truncated() const { return length_ > kKeep; }
  uint32_t length() const { return length_; }  // bytes of the line (without CR LF)
  void Reset() { kept_ = 0; length_ = 0; }

 private:
  char buf_[kKeep];
  uint8_t kept_ = 0;
  uint32_t length_ = 0;
};

enum class HttpEvent : uint8_t {
  kNone,      // all input consumed; more is needed
  kMessage,   // one complete message ends here (headers of a 101 included)
  kError,     // malformed input; the parser stays in error
};

struct HttpStep {
  size_t used = 0;
  HttpEvent event = HttpEvent::kNone;
};

// Message body framing shared by both parsers (RFC 9112 section 6).
class BodyReader {
 public:
  enum class Mode : uint8_t { kNone, kLength, kChunked, kUntilClose };
  void Start(Mode mode, uint64_t length);
  // Consumes body bytes; *done when the body ended; false on bad framing.
  bool Feed(const uint8_t* data, size_t n, size_t* used, bool* done);
  bool until_close() const { return mode_ == Mode::kUntilClose; }

 private:
  enum class Chunk : uint8_t { kSize, kData, kDataCrlf, kTrailer };
  bool OnSizeLine();
  Mode mode_ = Mode::kNone;
  Chunk chunk_ = Chunk::kSize;
  uint64_t left_ = 0;
  LineReader line_;
};

// Shared header-section rules: limits and the fields both sides care about.
struct HeaderFacts {
  int64_t content_length = -1;      // -1: none
  bool chunked = false;
  bool connection_close = false;
  bool connection_upgrade = false;
  bool upgrade_websocket = false;
  bool ws_version_13 = false;
  char ws_key[25] = {};              // Sec-WebSocket-Key (24 base64 characters)
  char ws_accept[29] = {};           // Sec-WebSocket-Accept (28 characters)
  uint32_t lines = 0, bytes = 0;
  // Applies one header line; false when it breaks the rules.
  bool Apply(const LineReader& line);
};

inline constexpr uint32_t kMaxHeaderBytes = 64 * 1024;
inline constexpr uint32_t kMaxHeaderLines = 128;

// Responses to requests this side sent (one in flight or pipelined: they
// come back in order). After kMessage: status(), close_after().
class ResponseParser {
 public:
  HttpStep Feed(const uint8_t* data, size_t n);
  // The peer closed the connection: true when that ended a body read until
  // close (a complete message), false when a message was cut short.
  bool OnClose();
  int status() const { return status_; }
  bool close_after() const { return facts_.connection_close; }
  bool mid_message() const { return state_ != State::kStatus || line_.length() > 0; }
  const HeaderFacts& facts() const { return facts_; }

 private:
  enum class State : uint8_t { kStatus, kHeaders, kBody, kError };
  bool OnStatusLine();
  HttpStep Finish(size_t used);
  State state_ = State::kStatus;
  int status_ = 0;
  LineReader line_;
  HeaderFacts facts_;
  BodyReader body_;
};

// Requests a server reads. After kMessage: is_get(), facts(), keep_alive().
class RequestParser {
 public:
  HttpStep Feed(const uint8_t* data, size_t n);
  bool is_get() const { return get_; }
  bool http10() const { return http10_; }
  bool keep_alive() const { return !facts_.connection_close && !http10_; }
  const HeaderFacts& facts() const { return facts_; }

 private:
  enum class State : uint8_t { kRequestLine, kHeaders, kBody, kError };
  bool OnRequestLine();
  State state_ = State::kRequestLine;
  bool get_ = false, http10_ = false;
  LineReader line_;
  HeaderFacts facts_;
  BodyReader body_;
};

// "GET /path HTTP/1.1\r\nHost: host\r\n[extra]\r\n" appended to `out`:
// keep-alive is HTTP/1.1's default, so no Connection header is sent.
// `extra` is zero or more complete header lines ("Name: value\r\n").
void AppendGetRequest(std::string& out, std::string_view host, std::string_view path, std::string_view extra = {});

// Case-insensitive ASCII comparison.
bool EqualsNoCase(std::string_view a, std::string_view b);

}  // namespace tcpmax::proto

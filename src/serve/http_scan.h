// HTTP/1.1 for `serve --mode http`: just enough to let wrk, curl and browsers
// drive keep-alive connections. A request ends at its empty line (RFC 9112
// section 2.1: request-line, header fields, then CRLF); a bare LF also ends a
// line (RFC 9112 section 2.2 lets a recipient accept it). Request bodies are
// not parsed, so clients should send GET/HEAD-style requests without bodies.
// Pipelined requests (several in one read) are counted and each gets its own
// response, in order.
//
// Per connection the scanner keeps one byte of state, so requests split
// across reads are counted once. Pure code; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tcpmax::serve {

// Where the scanner is inside the current request head.
enum class HttpScanState : uint8_t {
  kText = 0,       // inside a line (or before the first line)
  kCr = 1,         // saw CR after text
  kLineEnd = 2,    // saw the LF ending a non-empty line
  kLineEndCr = 3,  // saw CR at the start of a line (the empty line's CR)
};

// Scans `data`, advancing `*state`; returns how many request heads ended in it.
size_t CountHttpRequests(std::string_view data, HttpScanState* state);

// The response sent for each request: "HTTP/1.1 200 OK" with a 3-byte body.
std::string_view HttpResponse();
// kHttpBatch responses back to back, for answering pipelined requests with
// one write; HttpResponses(n) is the first n of them (n <= kHttpBatch).
inline constexpr size_t kHttpBatch = 64;
std::string_view HttpResponses(size_t n);

}  // namespace tcpmax::serve

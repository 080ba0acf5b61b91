#include "serve/http_scan.h"

#include <string>

namespace tcpmax::serve {
namespace {

constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: tcpmax\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 3\r\n"
    "\r\n"
    "ok\n";

const std::string& Batch() {
  static const std::string batch = [] {
    std::string s;
    for (size_t i = 0; i < kHttpBatch; ++i) s += kResponse;
    return s;
  }();
  return batch;
}

}  // namespace

size_t CountHttpRequests(std::string_view data, HttpScanState* state) {
  size_t requests = 0;
  HttpScanState s = *state;
  for (char c : data) {
    if (c == '\n') {
      if (s == HttpScanState::kLineEnd || s == HttpScanState::kLineEndCr) {
        ++requests;  // the empty line: end of the request head
        s = HttpScanState::kText;
      } else {
        s = HttpScanState::kLineEnd;
      }
    } else if (c == '\r') {
      s = s == HttpScanState::kLineEnd ? HttpScanState::kLineEndCr : HttpScanState::kCr;
    } else {
      s = HttpScanState::kText;
    }
  }
  *state = s;
  return requests;
}

std::string_view HttpResponse() { return kResponse; }

std::string_view HttpResponses(size_t n) {
  if (n > kHttpBatch) n = kHttpBatch;
  return std::string_view(Batch()).substr(0, n * kResponse.size());
}

}  // namespace tcpmax::serve

// libFuzzer target: the HTTP/1.1 response and request parsers (proto/http1).
// Property: fed whole or split at a fuzzer-chosen stride, each parser yields
// the same events (statuses, errors) and never reads past its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/http1.h"

namespace {

template <typename Parser, typename Note>
std::vector<int> Run(const uint8_t* data, size_t n, size_t stride, Note note) {
  Parser p;
  std::vector<int> events;
  size_t at = 0;
  while (at < n) {
    size_t end = std::min(n, at + stride);
    while (at < end) {
      tcpmax::proto::HttpStep s = p.Feed(data + at, end - at);
      if (s.used > end - at) std::abort();
      at += s.used;
      if (s.event == tcpmax::proto::HttpEvent::kError) {
        events.push_back(-1);
        return events;
      }
      if (s.event == tcpmax::proto::HttpEvent::kMessage) events.push_back(note(p));
      if (s.event == tcpmax::proto::HttpEvent::kNone) {
        if (at != end) std::abort();  // kNone means everything was consumed
        break;
      }
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t stride = 1 + data[0] % 17;
  const uint8_t* body = data + 1;
  size_t n = size - 1;
  auto status = [](const tcpmax::proto::ResponseParser& p) { return p.status() * 2 + p.close_after(); };
  auto request = [](const tcpmax::proto::RequestParser& p) {
    return p.is_get() * 4 + p.keep_alive() * 2 + p.facts().upgrade_websocket;
  };
  if (Run<tcpmax::proto::ResponseParser>(body, n, n ? n : 1, status) !=
      Run<tcpmax::proto::ResponseParser>(body, n, stride, status)) {
    std::abort();
  }
  if (Run<tcpmax::proto::RequestParser>(body, n, n ? n : 1, request) !=
      Run<tcpmax::proto::RequestParser>(body, n, stride, request)) {
    std::abort();
  }
  return 0;
}

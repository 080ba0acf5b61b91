// libFuzzer target: the WebSocket frame parser (proto/ws), both sides.
// Properties: fed whole or split at a fuzzer-chosen stride it yields the same
// frames (opcode, fin, payload) or the same violation; payload never exceeds
// the announced length; and a frame built by AppendWsFrame from the input
// parses back to the same payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/ws.h"

namespace {

using tcpmax::proto::WsEvent;

std::string Run(std::string wire, bool server, size_t stride) {
  tcpmax::proto::WsFrameParser p(server, 1 << 20);
  std::string log;
  uint64_t got = 0;
  auto* bytes = reinterpret_cast<uint8_t*>(wire.data());
  size_t at = 0;
  while (at < wire.size()) {
    size_t end = std::min(wire.size(), at + stride);
    for (;;) {
      tcpmax::proto::WsStep s = p.Feed(bytes + at, end - at);
      if (s.used > end - at) std::abort();
      at += s.used;
      if (s.event == WsEvent::kNone) break;
      if (s.event == WsEvent::kError) return log + "E" + std::to_string(static_cast<int>(p.error()));
      if (s.event == WsEvent::kFrameStart) {
        log += "F" + std::to_string(static_cast<int>(p.opcode())) + (p.fin() ? "f" : "") + ":";
        got = 0;
      }
      if (s.event == WsEvent::kData) {
        got += s.len;
        if (got > p.payload_length()) std::abort();
        log.append(reinterpret_cast<const char*>(s.data), s.len);
      }
      if (s.event == WsEvent::kFrameEnd) {
        if (got != p.payload_length()) std::abort();
        log += ";";
      }
    }
  }
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t stride = 1 + data[0] % 13;
  std::string wire(reinterpret_cast<const char*>(data + 1), size - 1);
  for (bool server : {false, true}) {
    if (Run(wire, server, wire.size() + 1) != Run(wire, server, stride)) std::abort();
  }
  const uint8_t key[4] = {data[0], 0x5a, 0xa5, 0x11};
  std::string built;
  tcpmax::proto::AppendWsFrame(built, tcpmax::proto::WsOpcode::kBinary, wire, true, key);
  if (Run(built, true, stride) != "F2f:" + wire + ";") std::abort();
  return 0;
}

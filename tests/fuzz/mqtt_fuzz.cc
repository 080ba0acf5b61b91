// libFuzzer target: the MQTT 3.1.1 client-side parser (proto/mqtt).
// Property: fed whole or split at a fuzzer-chosen stride it yields the same
// events and PUBLISH payloads, and never reads past its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/mqtt.h"

namespace {

using tcpmax::proto::MqttEvent;

std::string Run(const uint8_t* data, size_t n, size_t stride) {
  tcpmax::proto::MqttParser p;
  std::string log;
  size_t at = 0;
  while (at < n) {
    size_t end = std::min(n, at + stride);
    for (;;) {
      tcpmax::proto::MqttStep s = p.Feed(data + at, end - at);
      if (s.used > end - at) std::abort();
      at += s.used;
      if (s.event == MqttEvent::kNone) break;
      if (s.event != MqttEvent::kData) log += static_cast<char>('A' + static_cast<int>(s.event));
      if (s.event == MqttEvent::kConnack) log += static_cast<char>('0' + p.connack_code());
      if (s.event == MqttEvent::kData) log.append(reinterpret_cast<const char*>(s.data), s.len);
      if (s.event == MqttEvent::kError) return log;
    }
  }
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t stride = 1 + data[0] % 11;
  if (Run(data + 1, size - 1, size) != Run(data + 1, size - 1, stride)) std::abort();
  return 0;
}

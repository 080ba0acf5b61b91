// The session protocols tcpmax speaks on a connection (`--proto`), by name.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tcpmax::proto {

enum class Proto : uint8_t {
  kRaw,   // bytes as given (--message), or nothing: the plain TCP connection
  kHttp,  // HTTP/1.1 keep-alive requests (http1.h)
  kWs,    // RFC 6455 WebSocket (ws.h)
  kMqtt,  // MQTT 3.1.1 client (mqtt.h)
};

inline constexpr Proto kProtos[] = {Proto::kRaw, Proto::kHttp, Proto::kWs, Proto::kMqtt};

std::string_view ProtoName(Proto p);
// "raw", "http", "ws", "mqtt"; nullopt for anything else.
std::optional<Proto> ParseProto(std::string_view name);

}  // namespace tcpmax::proto

#include "proto/kind.h"

namespace tcpmax::proto {

std::string_view ProtoName(Proto p) {
  switch (p) {
    case Proto::kRaw: return "raw";
    case Proto::kHttp: return "http";
    case Proto::kWs: return "ws";
    case Proto::kMqtt: return "mqtt";
  }
  return "?";
}

std::optional<Proto> ParseProto(std::string_view name) {
  for (Proto p : kProtos) {
    if (name == ProtoName(p)) return p;
  }
  return std::nullopt;
}

}  // namespace tcpmax::proto

#include "core/engine.h"

#include <fmt/format.h>

namespace tcpmax {

std::string_view EngineName(Engine e) {
  switch (e) {
    case Engine::kAuto: return "auto";
    case Engine::kEpoll: return "epoll";
    case Engine::kUring: return "uring";
  }
  return "auto";
}

Result<Engine> ParseEngine(std::string_view text) {
  if (text == "auto") return Engine::kAuto;
  if (text == "epoll") return Engine::kEpoll;
  if (text == "uring") return Engine::kUring;
  return PlainError(fmt::format("'{}' is not an engine (auto, epoll, uring)", text));
}

}  // namespace tcpmax

// Engine: how a serve or load process waits for its sockets. One enum for
// every module and flag ("--engine auto|epoll|uring").
//   kEpoll  one file descriptor per connection, watched by epoll;
//   kUring  io_uring with direct descriptors (no fd per connection);
//   kAuto   let the module choose (it says why in a note).
// Thread-safety: pure.
#pragma once

#include <string_view>

#include "core/error.h"

namespace tcpmax {

enum class Engine { kAuto, kEpoll, kUring };
// Every engine, in the order help lists them.
inline constexpr Engine kEngines[] = {Engine::kAuto, Engine::kEpoll, Engine::kUring};

std::string_view EngineName(Engine e);
// "auto", "epoll" or "uring"; anything else is an Error naming the choices.
Result<Engine> ParseEngine(std::string_view text);

}  // namespace tcpmax

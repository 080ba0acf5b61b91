// RunLoop: the one event loop both userland commands use. Each turn it
// drains a batch of packets from the link into the engine, lets the engine
// send what it wants (SYNs, probes), flushes the transmit batch, and sleeps
// on the link only when there was nothing to do. It returns when `stop` is
// set (SIGINT/SIGTERM), when hooks.done says so, or on a link error.
// Thread-safety: runs on the calling thread; `stop` may be set from a
// signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>

#include "core/error.h"
#include "userland/link/packet_link.h"
#include "userland/tcp/packet_sink.h"

namespace tcpmax::userland {

struct LoopHooks {
  // One received packet.
  std::function<void(std::span<const uint8_t> packet, uint64_t now_ns, tcp::PacketSink& out)> input;
  // Called every turn; returns how many packets it sent.
  std::function<uint64_t(uint64_t now_ns, tcp::PacketSink& out)> tick;
  // True when the job is complete.
  std::function<bool(uint64_t now_ns)> done;
  // Called about once a second (progress lines).
  std::function<void(uint64_t now_ns)> every_second;
  int idle_wait_ms = 100;  // poll timeout when idle
};

Result<void> RunLoop(link::PacketLink& link, const std::atomic<bool>& stop, const LoopHooks& hooks);

// CPU time (user + system) this process has used, in seconds (getrusage).
double CpuSeconds();

}  // namespace tcpmax::userland

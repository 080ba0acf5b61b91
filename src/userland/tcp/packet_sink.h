// PacketSink: where an engine puts the segments it wants sent. The runner's
// sink builds them into its transmit batch; tests record them.
// Thread-safety: one engine thread per sink.
#pragma once

#include "userland/wire/segment.h"

namespace tcpmax::userland::tcp {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual void Send(const wire::SegmentSpec& spec) = 0;
};

}  // namespace tcpmax::userland::tcp

// A PacketSink that builds and keeps every segment, then parses it back, so
// tests check what would really go on the wire.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "userland/tcp/packet_sink.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::testing {

class RecordingSink : public tcp::PacketSink {
 public:
  void Send(const wire::SegmentSpec& spec) override {
    std::vector<uint8_t> buf(2048);
    size_t n = wire::BuildSegment(spec, buf);
    EXPECT_GT(n, 0u);
    buf.resize(n);
    packets.push_back(std::move(buf));
  }
  size_t size() const { return packets.size(); }
  // The i-th packet, parsed (checksums verified).
  wire::Segment At(size_t i) const {
    wire::Segment s;
    EXPECT_TRUE(wire::ParseSegment(packets.at(i), &s).ok);
    return s;
  }
  wire::Segment Last() const { return At(packets.size() - 1); }
  void Clear() { packets.clear(); }

  std::vector<std::vector<uint8_t>> packets;
};

// Builds a raw packet from a spec.
inline std::vector<uint8_t> Packet(const wire::SegmentSpec& spec) {
  std::vector<uint8_t> buf(2048);
  buf.resize(wire::BuildSegment(spec, buf));
  return buf;
}

}  // namespace tcpmax::userland::testing

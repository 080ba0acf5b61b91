// libFuzzer target over the userland engine's input path: the IPv4/TCP
// parser, then the server engine (in both modes) and the client engine fed a
// sequence of packets. Built with clang++ -fsanitize=fuzzer,address by
// tests/fuzz/CMakeLists.txt.
//
// Input: byte 0 chooses the mode; the rest is a list of packets, each a
// 2-byte big-endian length then the bytes. So the fuzzer can reach
// ESTABLISHED, LAST-ACK and the RFC 5961 paths without forging SipHash
// cookies, the harness first completes one real handshake, and (mode bit 1)
// rewrites every packet's addresses and ports to that connection's tuple and
// parses without checksum verification. Mode bit 3 lets time advance: each
// packet is then preceded by a 2-byte step in milliseconds, so cookie
// expiry, the reply rate limits and the client's pass timing vary.
// Invariants: no crash or UB; everything emitted parses back; a RST gets no
// answer but at most one challenge ACK; one segment in causes a bounded
// number out (echo pieces + 1); established <= accepted.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "userland/tcp/client.h"
#include "userland/tcp/server.h"
#include "userland/wire/segment.h"

namespace {

using namespace tcpmax::userland;

constexpr uint32_t kServer = 0xc6120001;
constexpr uint32_t kPeer = 0xc6130007;
constexpr uint64_t kNow = 5'000'000'000'000ull;

// Builds every segment and parses it back: whatever the engine emits must be
// a well-formed packet with valid checksums.
class CheckingSink : public tcp::PacketSink {
 public:
  void Send(const wire::SegmentSpec& spec) override {
    uint8_t buf[2048];
    size_t n = wire::BuildSegment(spec, buf);
    if (n == 0) abort();
    wire::Segment s;
    if (!wire::ParseSegment({buf, n}, &s).ok) abort();
    last = s;
    ++count;
  }
  wire::Segment last;
  size_t count = 0;
};

tcp::ServerEngine MakeServer(bool echo) {
  tcp::ServerConfig c;
  c.ip = kServer;
  c.ports = {80, 81};
  c.mode = echo ? tcp::ServeMode::kEcho : tcp::ServeMode::kHold;
  return tcp::ServerEngine(c, tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 5);
}

void Handshake(tcp::ServerEngine& server, CheckingSink& sink) {
  wire::SegmentSpec syn;
  syn.src_ip = kPeer;
  syn.dst_ip = kServer;
  syn.src_port = 40000;
  syn.dst_port = 80;
  syn.seq = 1000;
  syn.flags = wire::kSyn;
  syn.timestamps = true;
  syn.wscale = 3;
  uint8_t buf[256];
  size_t n = wire::BuildSegment(syn, buf);
  server.Input({buf, n}, kNow, sink);
  wire::SegmentSpec ack = syn;
  ack.seq = 1001;
  ack.ack = sink.last.seq + 1;
  ack.flags = wire::kAck;
  ack.wscale = -1;
  ack.ts_ecr = sink.last.options.ts_val;
  n = wire::BuildSegment(ack, buf);
  server.Input({buf, n}, kNow, sink);
  if (server.established() != 1) abort();
}

void Retarget(std::vector<uint8_t>& p) {
  if (p.size() < 24) return;
  size_t ihl = size_t(p[0] & 0xf) * 4;
  const uint8_t src[4] = {0xc6, 0x13, 0x00, 0x07}, dst[4] = {0xc6, 0x12, 0x00, 0x01};
  for (int i = 0; i < 4; ++i) p[12 + i] = src[i], p[16 + i] = dst[i];
  if (ihl >= 20 && p.size() >= ihl + 4) {
    p[ihl] = 0x9c, p[ihl + 1] = 0x40;  // 40000
    p[ihl + 2] = 0x00, p[ihl + 3] = 0x50;  // 80
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  bool echo = mode & 1, retarget = mode & 2, client = mode & 4, clock = mode & 8;
  uint64_t now = kNow;
  tcp::ServerEngine server = MakeServer(echo);
  tcp::ClientConfig cc;
  cc.src_base = kPeer;
  cc.src_count = 4;
  cc.sport_lo = 40000;
  cc.sport_count = 4;
  cc.dst_ip = kServer;
  cc.dst_ports = {80};
  cc.connections = 16;
  tcp::ClientEngine cli(cc, tcp::SipKey{7, 8});
  CheckingSink sink;
  if (retarget && !client) Handshake(server, sink);
  if (client) {
    cli.SendSyns(16, kNow, sink);
    cli.StartVerify(4, 1);
  }
  size_t i = 1;
  while (i + 2 <= size) {
    if (clock) {
      if (i + 4 > size) break;
      now += ((uint64_t(data[i]) << 8) | data[i + 1]) * 1'000'000ull;
      i += 2;
    }
    size_t len = (size_t(data[i]) << 8) | data[i + 1];
    i += 2;
    if (len > size - i) len = size - i;
    std::vector<uint8_t> p(data + i, data + i + len);
    i += len;
    if (retarget) Retarget(p);
    wire::Segment seg;
    wire::ParseResult r = wire::ParseSegment(p, &seg, /*verify_checksums=*/!retarget);
    size_t before = sink.count;
    if (client) {
      if (r.ok) cli.InputSegment(seg, now, sink);
      cli.SendProbes(4, now + 2'000'000'000ull, sink);
    } else if (r.ok) {
      server.InputSegment(seg, now, sink);
      size_t out = sink.count - before;
      // A RST is never answered, except by one challenge ACK (RFC 5961 3.2).
      if (seg.Has(wire::kRst) && (out > 1 || (out == 1 && (sink.last.flags != wire::kAck || !sink.last.payload.empty())))) {
        abort();
      }
      if (out > 2 + seg.payload.size() / 536) abort();       // no amplification beyond the echo
    } else {
      server.Input(p, now, sink);  // the drop path counts the reason
    }
  }
  if (server.established() > server.stats().accepted) abort();
  return 0;
}

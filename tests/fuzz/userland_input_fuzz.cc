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
// gives it valid IPv4/TCP framing and checksums, so it is parsed with checksum
// verification like any packet; bits 4-6 choose how many connections
// (1-8) are set up, and a leading byte per packet picks the one it goes
// to. Mode bit 7 makes it all IPv6: the engines serve and connect over
// IPv6 (2001:db8::/32), and retargeting gives packets IPv6 framing (the
// first 40 bytes become the IPv6 header) with the IPv6 pseudo-header
// checksum. Mode bit 3 lets time advance: each
// packet is then preceded by a 2-byte step in milliseconds, so cookie
// expiry, the reply rate limits and the client's pass timing vary.
// Invariants: no crash or UB; everything emitted parses back; a RST gets no
// answer but at most one challenge ACK; one segment in causes a bounded
// number out (echo pieces + 1); no slot leaks (in the table = accepted -
// closed - reset by the peer).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "userland/tcp/client.h"
#include "userland/tcp/server.h"
#include "userland/wire/checksum.h"
#include "userland/wire/segment.h"

namespace {

using namespace tcpmax::userland;

constexpr uint32_t kServer = 0xc6120001;
constexpr uint32_t kPeer = 0xc6130007;
constexpr wire::Ip6 kServer6{0x20010db800000000ull, 1};          // 2001:db8::1
constexpr wire::Ip6 kPeer6{0x20010db800010000ull, 0xc6130007};   // 2001:db8:1::c613:7
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

tcp::ServerEngine MakeServer(bool echo, bool v6) {
  tcp::ServerConfig c;
  c.ip = kServer;
  c.v6 = v6;
  c.ip6 = kServer6;
  c.ports = {80, 81};
  c.mode = echo ? tcp::ServeMode::kEcho : tcp::ServeMode::kHold;
  return tcp::ServerEngine(c, tcp::SipKey{1, 2}, tcp::SipKey{3, 4}, 5);
}

void Handshake(tcp::ServerEngine& server, CheckingSink& sink, bool v6, uint16_t sport = 40000) {
  uint64_t before = server.established();
  wire::SegmentSpec syn;
  syn.v6 = v6;
  syn.src_ip = kPeer;
  syn.dst_ip = kServer;
  syn.src_ip6 = kPeer6;
  syn.dst_ip6 = kServer6;
  syn.src_port = sport;
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
  if (server.established() != before + 1) abort();
}

void Put16(std::vector<uint8_t>& p, size_t at, uint16_t v) {
  p[at] = uint8_t(v >> 8);
  p[at + 1] = uint8_t(v);
}

// Points the packet at connection kPeer:`sport` -> kServer:80 (towards the
// server engine; with `to_client` the other way, kServer:80 -> the client's
// tuple `sport`) and makes it valid IPv4/TCP framing with correct checksums
// (total length = the bytes given), so the fuzzer's bytes reach the engines'
// state machines, not the checksum drop.
// The same with IPv6 framing: the first 40 bytes become the IPv6 header
// (version 6, next header TCP, payload length = the rest).
void Retarget6(std::vector<uint8_t>& p, uint16_t sport, bool to_client) {
  if (p.size() < 60) return;
  p[0] = uint8_t(0x60 | (p[0] & 0xf));
  Put16(p, 4, uint16_t(p.size() - 40));
  p[6] = 6;
  wire::Ip6ToBytes(to_client ? kServer6 : kPeer6, p.data() + 8);
  wire::Ip6ToBytes(to_client ? kPeer6 : kServer6, p.data() + 24);
  Put16(p, 40, to_client ? 80 : sport);
  Put16(p, 42, to_client ? sport : 80);
  Put16(p, 56, 0);
  uint32_t sum = wire::PseudoHeaderSum6(p.data() + 8, p.data() + 24, 6, uint32_t(p.size() - 40));
  Put16(p, 56, wire::ChecksumFinish(wire::ChecksumAdd(sum, {p.data() + 40, p.size() - 40})));
}

void Retarget(std::vector<uint8_t>& p, uint16_t sport, bool to_client) {
  if (p.size() < 40) return;
  p[0] = uint8_t(0x40 | std::max(5, p[0] & 0xf));
  size_t ihl = size_t(p[0] & 0xf) * 4;
  if (p.size() < ihl + 20) return;
  p[9] = 6;  // TCP
  Put16(p, 2, uint16_t(p.size()));
  const uint8_t peer[4] = {0xc6, 0x13, 0x00, 0x07}, server[4] = {0xc6, 0x12, 0x00, 0x01};
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = to_client ? server[i] : peer[i];
    p[16 + i] = to_client ? peer[i] : server[i];
  }
  Put16(p, ihl, to_client ? 80 : sport);
  Put16(p, ihl + 2, to_client ? sport : 80);
  Put16(p, 10, 0);
  Put16(p, 10, wire::Checksum({p.data(), ihl}));
  Put16(p, ihl + 16, 0);
  uint32_t sum = to_client ? wire::PseudoHeaderSum(kServer, kPeer, 6, uint16_t(p.size() - ihl))
                           : wire::PseudoHeaderSum(kPeer, kServer, 6, uint16_t(p.size() - ihl));
  Put16(p, ihl + 16, wire::ChecksumFinish(wire::ChecksumAdd(sum, {p.data() + ihl, p.size() - ihl})));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  bool echo = mode & 1, retarget = mode & 2, client = mode & 4, clock = mode & 8, v6 = mode & 0x80;
  // Many connections: ((mode >> 4) & 7) + 1 of them; each retargeted packet
  // starts with a byte choosing which one it is sent on.
  unsigned conns = retarget ? ((mode >> 4) & 7) + 1 : 1;
  uint64_t now = kNow;
  tcp::ServerEngine server = MakeServer(echo, v6);
  tcp::ClientConfig cc;
  cc.v6 = v6;
  cc.src_prefix6 = kPeer6.Prefix96();
  cc.dst_ip6 = kServer6;
  cc.src_base = kPeer;
  cc.src_count = 4;
  cc.sport_lo = 40000;
  cc.sport_count = 4;
  cc.dst_ip = v6 ? kServer6.Low32() : kServer;
  cc.dst_ports = {80};
  cc.connections = 16;
  tcp::ClientEngine cli(cc, tcp::SipKey{7, 8});
  CheckingSink sink;
  if (retarget && !client) {
    for (unsigned k = 0; k < conns; ++k) Handshake(server, sink, v6, uint16_t(40000 + k));
  }
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
    if (retarget && !p.empty()) {
      uint16_t sport = uint16_t(40000 + p[0] % conns);
      p.erase(p.begin());
      if (v6) {
        Retarget6(p, sport, client);
      } else {
        Retarget(p, sport, client);
      }
    }
    wire::Segment seg;
    wire::ParseResult r = wire::ParseSegment(p, &seg, /*verify_checksums=*/true);
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
  // No slot leaks: every connection in the table was accepted and neither
  // closed nor reset since, and every one accepted is in the table or gone
  // through one of those.
  const tcp::ServerStats& st = server.stats();
  if (server.established() != st.accepted - st.closed - st.reset_by_peer) abort();
  return 0;
}

#include "proto/ws.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tcpmax::proto {
namespace {

struct Frame {
  WsOpcode op;
  bool fin;
  std::string payload;
  bool operator==(const Frame& o) const { return op == o.op && fin == o.fin && payload == o.payload; }
};

struct Parsed {
  std::vector<Frame> frames;
  WsViolation error = WsViolation::kNone;
};

// Parses `wire` fed in two pieces cut at `cut` (or byte by byte when cut is
// SIZE_MAX), as the server (masked input) or the client.
Parsed Parse(std::string wire, bool server, size_t cut) {
  WsFrameParser p(server);
  Parsed out;
  std::vector<std::pair<size_t, size_t>> pieces;
  if (cut == SIZE_MAX) {
    for (size_t i = 0; i < wire.size(); ++i) pieces.emplace_back(i, 1);
  } else {
    pieces = {{0, cut}, {cut, wire.size() - cut}};
  }
  auto* bytes = reinterpret_cast<uint8_t*>(wire.data());
  for (auto [at, len] : pieces) {
    for (;;) {
      WsStep s = p.Feed(bytes + at, len);
      at += s.used;
      len -= s.used;
      if (s.event == WsEvent::kNone) break;
      if (s.event == WsEvent::kError) {
        out.error = p.error();
        return out;
      }
      if (s.event == WsEvent::kFrameStart) out.frames.push_back({p.opcode(), p.fin(), ""});
      if (s.event == WsEvent::kData) out.frames.back().payload.append(reinterpret_cast<const char*>(s.data), s.len);
    }
  }
  return out;
}

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}

TEST(WsHandshake, AcceptMatchesRfcExample) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(WsAcceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string key = WsMakeKey();
  EXPECT_EQ(key.size(), 24u);
  EXPECT_NE(key, WsMakeKey());
}

TEST(WsHandshake, RequestAndResponseCarryTheFields) {
  std::string req;
  AppendWsUpgradeRequest(req, "h:1", "/chat", "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_NE(req.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), std::string::npos);
  EXPECT_NE(req.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  std::string resp;
  AppendWsUpgradeResponse(resp, "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(resp.rfind("HTTP/1.1 101 ", 0), 0u);
  EXPECT_NE(resp.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
}

TEST(WsFrames, RfcExamplesAtEveryBoundary) {
  // RFC 6455 section 5.7: unmasked "Hello", fragmented "Hel"+"lo", an
  // unmasked ping, 256 bytes and 64 KiB binary.
  std::string unmasked = Bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'});
  std::string frag = Bytes({0x01, 0x03, 'H', 'e', 'l', 0x80, 0x02, 'l', 'o'});
  std::string ping = Bytes({0x89, 0x05, 'H', 'e', 'l', 'l', 'o'});
  std::string b256 = Bytes({0x82, 0x7E, 0x01, 0x00}) + std::string(256, 'x');
  std::string b64k = Bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}) + std::string(65536, 'y');
  std::string all = unmasked + frag + ping + b256 + b64k;
  std::vector<Frame> want = {{WsOpcode::kText, true, "Hello"},     {WsOpcode::kText, false, "Hel"},
                             {WsOpcode::kContinuation, true, "lo"}, {WsOpcode::kPing, true, "Hello"},
                             {WsOpcode::kBinary, true, std::string(256, 'x')},
                             {WsOpcode::kBinary, true, std::string(65536, 'y')}};
  for (size_t cut = 0; cut <= all.size(); cut += (cut < 400 ? 1 : 997)) {
    Parsed p = Parse(all, /*server=*/false, cut);
    ASSERT_EQ(p.error, WsViolation::kNone) << cut;
    EXPECT_EQ(p.frames, want) << cut;
  }
  EXPECT_EQ(Parse(unmasked + frag + ping + b256, false, SIZE_MAX).frames.size(), 5u);
}

TEST(WsFrames, MaskedRfcExampleAndRoundTrip) {
  std::string masked = Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  Parsed p = Parse(masked, /*server=*/true, SIZE_MAX);
  ASSERT_EQ(p.error, WsViolation::kNone);
  EXPECT_EQ(p.frames, (std::vector<Frame>{{WsOpcode::kText, true, "Hello"}}));
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  std::string built;
  AppendWsFrame(built, WsOpcode::kText, "Hello", true, key);
  EXPECT_EQ(built, masked);
  for (size_t n : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    std::string payload(n, 'q');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    std::string wire;
    AppendWsFrame(wire, WsOpcode::kBinary, payload, true, key);
    for (size_t cut : {size_t{0}, size_t{1}, size_t{3}, size_t{9}, wire.size() / 2}) {
      Parsed q = Parse(wire, true, std::min(cut, wire.size()));
      ASSERT_EQ(q.error, WsViolation::kNone) << n;
      ASSERT_EQ(q.frames.size(), 1u);
      EXPECT_EQ(q.frames[0].payload, payload) << n << " cut " << cut;
    }
    std::string plain;
    AppendWsFrame(plain, WsOpcode::kBinary, payload, true, nullptr);
    EXPECT_EQ(Parse(plain, false, plain.size() / 3).frames[0].payload, payload);
  }
}

TEST(WsFrames, Violations) {
  const uint8_t key[4] = {1, 2, 3, 4};
  std::string masked;
  AppendWsFrame(masked, WsOpcode::kText, "x", true, key);
  // Masking direction (5.1).
  EXPECT_EQ(Parse(masked, /*server=*/false, 0).error, WsViolation::kMaskWrong);
  EXPECT_EQ(Parse(Bytes({0x81, 0x01, 'x'}), /*server=*/true, 0).error, WsViolation::kMaskWrong);
  // Reserved bits and opcodes (5.2).
  EXPECT_EQ(Parse(Bytes({0xC1, 0x01, 'x'}), false, 0).error, WsViolation::kReservedBits);
  EXPECT_EQ(Parse(Bytes({0x83, 0x00}), false, 0).error, WsViolation::kBadOpcode);
  EXPECT_EQ(Parse(Bytes({0x8B, 0x00}), false, 0).error, WsViolation::kBadOpcode);
  // Lengths: non-minimal 16- and 64-bit forms, the top bit, over the limit.
  EXPECT_EQ(Parse(Bytes({0x82, 0x7E, 0x00, 0x05}), false, 0).error, WsViolation::kNonMinimalLength);
  EXPECT_EQ(Parse(Bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}), false, 0).error, WsViolation::kNonMinimalLength);
  EXPECT_EQ(Parse(Bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}), false, 0).error, WsViolation::kLengthTooLarge);
  EXPECT_EQ(Parse(Bytes({0x82, 0x7F, 0, 0, 0, 0, 0x10, 0, 0, 0}), false, 0).error, WsViolation::kLengthTooLarge);
  // Control frames (5.5): fragmented, too long, a one-byte close.
  EXPECT_EQ(Parse(Bytes({0x09, 0x00}), false, 0).error, WsViolation::kControlFragmented);
  EXPECT_EQ(Parse(Bytes({0x89, 0x7E, 0x00, 0x7E}), false, 0).error, WsViolation::kControlTooLong);
  EXPECT_EQ(Parse(Bytes({0x88, 0x01, 0x03}), false, 0).error, WsViolation::kBadClosePayload);
  // Continuation rules (5.4).
  EXPECT_EQ(Parse(Bytes({0x80, 0x00}), false, 0).error, WsViolation::kBadContinuation);
  EXPECT_EQ(Parse(Bytes({0x01, 0x00, 0x81, 0x00}), false, 0).error, WsViolation::kBadContinuation);
  // A ping between fragments is fine.
  Parsed ok = Parse(Bytes({0x01, 0x01, 'a', 0x89, 0x00, 0x80, 0x01, 'b'}), false, 0);
  EXPECT_EQ(ok.error, WsViolation::kNone);
  EXPECT_EQ(ok.frames.size(), 3u);
}

TEST(WsFrames, CloseCodes) {
  std::string wire;
  AppendWsClose(wire, 1001, "bye", nullptr);
  Parsed p = Parse(wire, false, 1);
  ASSERT_EQ(p.frames.size(), 1u);
  EXPECT_EQ(p.frames[0].op, WsOpcode::kClose);
  EXPECT_EQ(p.frames[0].payload, std::string("\x03\xe9" "bye", 5));
  EXPECT_TRUE(WsCloseCodeValid(1000));
  EXPECT_TRUE(WsCloseCodeValid(4000));
  EXPECT_FALSE(WsCloseCodeValid(1005));
  EXPECT_FALSE(WsCloseCodeValid(1006));
  EXPECT_FALSE(WsCloseCodeValid(999));
}

}  // namespace
}  // namespace tcpmax::proto

// WebSocket (RFC 6455) as byte-level state machines with no I/O: the opening
// handshake (Sec-WebSocket-Key and -Accept, section 4), frames (section 5:
// client-to-server masking, 7/16/64-bit lengths, text, binary, continuation,
// ping, pong, close) and close codes (section 7.4).
//
// WsFrameParser is fed whatever arrived, split anywhere, and hands payload
// back in pieces (unmasked in place), so it keeps 24 bytes of state and no
// buffer; Feed() stops after each event. No extensions are negotiated, so a
// set RSV bit is an error (5.2). Thread-safety: none; one owner per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpmax::proto {

// Opcodes (RFC 6455 5.2).
enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Sec-WebSocket-Accept for a key: base64(SHA-1(key + the GUID)) (4.2.2 item 5.4).
std::string WsAcceptFor(std::string_view key);
// A fresh Sec-WebSocket-Key: base64 of 16 random bytes (4.1 item 7).
std::string WsMakeKey();
// The same without allocating: `out` receives 28 characters and a NUL.
void WsAcceptInto(std::string_view key, char out[29]);
// The key for 16 nonce bytes: 24 characters and a NUL.
void WsKeyInto(const uint8_t nonce[16], char out[25]);

// The client's upgrade request (4.1) appended to `out`.
void AppendWsUpgradeRequest(std::string& out, std::string_view host, std::string_view path, std::string_view key);
// The server's 101 answer (4.2.2) for a request carrying `key`.
void AppendWsUpgradeResponse(std::string& out, std::string_view key);

// One frame appended to `out`. A client masks (5.3) with `mask_key` (four
// bytes from a per-worker generator; RFC 6455 asks that they be unpredictable
// by the application, which fixed message bytes cannot influence here).
void AppendWsFrame(std::string& out, WsOpcode op, std::string_view payload, bool fin, const uint8_t* mask_key);
// A close frame with a status code (7.4) and reason.
void AppendWsClose(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask_key);

enum class WsEvent : uint8_t {
  kNone,       // all input consumed
  kFrameStart, // a frame header was read: opcode(), fin(), payload_length()
  kData,       // payload bytes (unmasked): data, len
  kFrameEnd,   // the current frame's payload is complete
  kError,      // a protocol violation: error() says which
};

enum class WsViolation : uint8_t {
  kNone,
  kReservedBits,       // RSV1-3 set without an extension (5.2)
  kBadOpcode,          // reserved opcode (5.2)
  kMaskWrong,          // client frame unmasked or server frame masked (5.1)
  kControlTooLong,     // control frame payload over 125 bytes (5.5)
  kControlFragmented,  // control frame without FIN (5.5)
  kNonMinimalLength,   // length not in its minimal form (5.2)
  kLengthTooLarge,     // 64-bit length with the top bit set (5.2), or above the limit
  kBadContinuation,    // continuation with no message open, or a new message inside one (5.4)
  kBadClosePayload,    // close payload of 1 byte, or an invalid code (5.5.1, 7.4)
};

struct WsStep {
  size_t used = 0;
  WsEvent event = WsEvent::kNone;
  const uint8_t* data = nullptr;
  size_t len = 0;
};

class WsFrameParser {
 public:
  // `server`: frames come from clients, so they must be masked (5.1).
  explicit WsFrameParser(bool server, uint64_t max_payload = 16u << 20) : server_(server), max_payload_(max_payload) {}
  // `data` is writable: masked payload is unmasked in place.
  WsStep Feed(uint8_t* data, size_t n);

  WsOpcode opcode() const { return opcode_; }
  bool fin() const { return fin_; }
  uint64_t payload_length() const { return length_; }
  // The data opcode of the message the current frame belongs to.
  WsOpcode message_opcode() const { return message_op_; }
  WsViolation error() const { return error_; }

 private:
  WsStep Fail(size_t used, WsViolation v);
  WsStep HeaderDone(size_t used);
  uint8_t header_[14];
  uint8_t have_ = 0;       // header bytes gathered
  bool in_payload_ = false;
  bool server_;
  bool fin_ = false;
  bool in_message_ = false;
  WsOpcode opcode_ = WsOpcode::kContinuation;
  WsOpcode message_op_ = WsOpcode::kContinuation;
  WsViolation error_ = WsViolation::kNone;
  uint8_t mask_[4] = {};
  uint8_t mask_pos_ = 0;
  uint64_t length_ = 0;
  uint64_t left_ = 0;
  uint64_t max_payload_;
};

// Close codes (7.4.1): is `code` one a peer may send in a close frame?
bool WsCloseCodeValid(uint16_t code);

}  // namespace tcpmax::proto

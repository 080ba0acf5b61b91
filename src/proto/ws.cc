#include "proto/ws.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace tcpmax::proto {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 1.3

std::string Base64(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

bool IsControl(WsOpcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

}  // namespace

std::string WsAcceptFor(std::string_view key) {
  std::string text(key);
  text.append(kGuid);
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return Base64(digest, sizeof digest);
}

void WsAcceptInto(std::string_view key, char out[29]) {
  char text[128];
  size_t n = std::min(key.size(), sizeof text - kGuid.size());
  std::memcpy(text, key.data(), n);
  std::memcpy(text + n, kGuid.data(), kGuid.size());
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text), n + kGuid.size(), digest);
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out), digest, sizeof digest);
}

void WsKeyInto(const uint8_t nonce[16], char out[25]) {
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out), nonce, 16);
}

std::string WsMakeKey() {
  uint8_t nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) {
    for (size_t i = 0; i < sizeof nonce; ++i) nonce[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  return Base64(nonce, sizeof nonce);
}

void AppendWsUpgradeRequest(std::string& out, std::string_view host, std::string_view path, std::string_view key) {
  out.append("GET ").append(path.empty() ? "/" : path).append(" HTTP/1.1\r\nHost: ").append(host);
  out.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
  out.append("\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

void AppendWsUpgradeResponse(std::string& out, std::string_view key) {
  out.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
  out.append(WsAcceptFor(key)).append("\r\n\r\n");
}

void AppendWsFrame(std::string& out, WsOpcode op, std::string_view payload, bool fin, const uint8_t* mask_key) {
  uint8_t h[14];
  size_t hl = 2;
  h[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
  uint8_t mask_bit = mask_key ? 0x80 : 0;
  uint64_t n = payload.size();
  if (n < 126) {
    h[1] = static_cast<uint8_t>(mask_bit | n);
  } else if (n <= 0xFFFF) {
    h[1] = mask_bit | 126;
    h[2] = static_cast<uint8_t>(n >> 8);
    h[3] = static_cast<uint8_t>(n);
    hl = 4;
  } else {
    h[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i) h[2 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
    hl = 10;
  }
  if (mask_key) {
    std::memcpy(h + hl, mask_key, 4);
    hl += 4;
  }
  out.append(reinterpret_cast<const char*>(h), hl);
  size_t at = out.size();
  out.append(payload);
  if (mask_key) {
    for (size_t i = 0; i < payload.size(); ++i) out[at + i] = static_cast<char>(out[at + i] ^ mask_key[i & 3]);
  }
}

void AppendWsClose(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask_key) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, 123));
  AppendWsFrame(out, WsOpcode::kClose, payload, true, mask_key);
}

bool WsCloseCodeValid(uint16_t code) {
  // 7.4.1/7.4.2: 1000-1003, 1007-1014 defined; 1004-1006 and 1015 never
  // sent; 3000-4999 for libraries and applications.
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

WsStep WsFrameParser::Fail(size_t used, WsViolation v) {
  error_ = v;
  return {used, WsEvent::kError};
}

// Header size from its first two bytes: 2, + 2 or 8 for the extended
// length, + 4 for the masking key (5.2).
static size_t HeaderSize(const uint8_t* h) {
  size_t n = 2;
  uint8_t len7 = h[1] & 0x7F;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if (h[1] & 0x80) n += 4;
  return n;
}

WsStep WsFrameParser::HeaderDone(size_t used) {
  uint8_t b0 = header_[0], b1 = header_[1];
  have_ = 0;
  if (b0 & 0x70) return Fail(used, WsViolation::kReservedBits);
  uint8_t op = b0 & 0x0F;
  if ((op > 0x2 && op < 0x8) || op > 0xA) return Fail(used, WsViolation::kBadOpcode);
  bool masked = (b1 & 0x80) != 0;
  if (masked != server_) return Fail(used, WsViolation::kMaskWrong);
  fin_ = (b0 & 0x80) != 0;
  opcode_ = static_cast<WsOpcode>(op);
  uint8_t len7 = b1 & 0x7F;
  size_t at = 2;
  if (len7 == 126) {
    length_ = (uint64_t{header_[2]} << 8) | header_[3];
    if (length_ < 126) return Fail(used, WsViolation::kNonMinimalLength);
    at = 4;
  } else if (len7 == 127) {
    length_ = 0;
    for (int i = 0; i < 8; ++i) length_ = (length_ << 8) | header_[2 + i];
    if (length_ >> 63) return Fail(used, WsViolation::kLengthTooLarge);
    if (length_ <= 0xFFFF) return Fail(used, WsViolation::kNonMinimalLength);
    at = 10;
  } else {
    length_ = len7;
  }
  if (masked) std::memcpy(mask_, header_ + at, 4);
  mask_pos_ = 0;
  if (IsControl(opcode_)) {
    if (!fin_) return Fail(used, WsViolation::kControlFragmented);
    if (length_ > 125) return Fail(used, WsViolation::kControlTooLong);
    if (opcode_ == WsOpcode::kClose && length_ == 1) return Fail(used, WsViolation::kBadClosePayload);
  } else if (opcode_ == WsOpcode::kContinuation) {
    if (!in_message_) return Fail(used, WsViolation::kBadContinuation);
    in_message_ = !fin_;
  } else {
    if (in_message_) return Fail(used, WsViolation::kBadContinuation);
    message_op_ = opcode_;
    in_message_ = !fin_;
  }
  if (length_ > max_payload_) return Fail(used, WsViolation::kLengthTooLarge);
  left_ = length_;
  in_payload_ = true;
  return {used, WsEvent::kFrameStart};
}

WsStep WsFrameParser::Feed(uint8_t* data, size_t n) {
  if (error_ != WsViolation::kNone) return {0, WsEvent::kError};
  if (in_payload_ && left_ == 0) {
    in_payload_ = false;
    return {0, WsEvent::kFrameEnd};
  }
  size_t off = 0;
  if (in_payload_) {
    if (n == 0) return {0, WsEvent::kNone};
    size_t take = static_cast<size_t>(left_ < n ? left_ : n);
    if (server_) {
      for (size_t i = 0; i < take; ++i) data[i] ^= mask_[(mask_pos_ + i) & 3];
      mask_pos_ = static_cast<uint8_t>((mask_pos_ + take) & 3);
    }
    left_ -= take;
    return {take, WsEvent::kData, data, take};
  }
  while (off < n) {
    size_t need = have_ < 2 ? 2 : HeaderSize(header_);
    while (have_ < need && off < n) header_[have_++] = data[off++];
    if (have_ < need) break;
    if (need == 2 && HeaderSize(header_) > 2) continue;
    return HeaderDone(off);
  }
  return {off, WsEvent::kNone};
}

}  // namespace tcpmax::proto

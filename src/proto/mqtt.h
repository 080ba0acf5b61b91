// MQTT 3.1.1 (OASIS standard, 2014) client side as byte-level state machines
// with no I/O: the packets a client sends (CONNECT, PINGREQ, SUBSCRIBE,
// PUBLISH at QoS 0, DISCONNECT) and the parser of what a broker sends back
// (CONNACK, PINGRESP, SUBACK, PUBLISH). Section numbers below are the
// standard's.
//
// MqttParser is fed bytes split anywhere, keeps a fixed state (no buffer:
// PUBLISH payloads are handed back in pieces) and stops after each event.
// Thread-safety: none; one owner per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tcpmax::proto {

// Control packet types (2.2.1).
enum class MqttType : uint8_t {
  kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5, kPubrel = 6, kPubcomp = 7,
  kSubscribe = 8, kSuback = 9, kUnsubscribe = 10, kUnsuback = 11, kPingreq = 12, kPingresp = 13,
  kDisconnect = 14,
};

// CONNECT (3.1) with a clean session, no will, no credentials.
void AppendMqttConnect(std::string& out, std::string_view client_id, uint16_t keepalive_s);
void AppendMqttPingreq(std::string& out);     // 3.12
void AppendMqttDisconnect(std::string& out);  // 3.14
// SUBSCRIBE (3.8) to one topic filter at QoS 0 with `packet_id` (non-zero).
void AppendMqttSubscribe(std::string& out, uint16_t packet_id, std::string_view filter);
// PUBLISH (3.3) at QoS 0: no packet identifier.
void AppendMqttPublish(std::string& out, std::string_view topic, std::string_view payload);

enum class MqttEvent : uint8_t {
  kNone,         // all input consumed
  kConnack,      // connack_code(): 0 accepted, 1-5 refused (3.2.2.3)
  kPingresp,
  kSuback,       // suback_code(): granted QoS 0-2 or 0x80 failure (3.9.3)
  kPublishStart, // topic read; payload_length() bytes of payload follow
  kData,         // PUBLISH payload bytes
  kPublishEnd,
  kError,        // malformed or unexpected packet
};

struct MqttStep {
  size_t used = 0;
  MqttEvent event = MqttEvent::kNone;
  const uint8_t* data = nullptr;
  size_t len = 0;
};

class MqttParser {
 public:
  MqttStep Feed(const uint8_t* data, size_t n);
  uint8_t connack_code() const { return connack_code_; }
  bool session_present() const { return session_present_; }
  uint8_t suback_code() const { return suback_code_; }
  uint32_t payload_length() const { return left_; }
  bool connected() const { return connected_; }

 private:
  enum class State : uint8_t { kType, kLength, kBody, kTopicLen, kTopic, kPayload, kSkip, kError };
  MqttStep Fail(size_t used);
  MqttStep StartBody(size_t used);
  State state_ = State::kType;
  uint8_t type_byte_ = 0;
  uint8_t len_bytes_ = 0;
  uint8_t body_[4] = {};
  uint8_t body_have_ = 0;
  uint8_t connack_code_ = 0;
  uint8_t suback_code_ = 0;
  bool session_present_ = false;
  bool connected_ = false;
  uint32_t remaining_ = 0;  // remaining length of the current packet (2.2.3)
  uint32_t left_ = 0;       // bytes left in the current part
  uint32_t multiplier_ = 1;
};

}  // namespace tcpmax::proto

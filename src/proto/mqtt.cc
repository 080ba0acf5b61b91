#include "proto/mqtt.h"

namespace tcpmax::proto {
namespace {

// Remaining Length: 7 bits per byte, continuation in the top bit (2.2.3).
void AppendLength(std::string& out, uint32_t n) {
  do {
    uint8_t b = n % 128;
    n /= 128;
    if (n > 0) b |= 0x80;
    out.push_back(static_cast<char>(b));
  } while (n > 0);
}

void AppendU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void AppendString(std::string& out, std::string_view s) {  // 1.5.3
  AppendU16(out, static_cast<uint16_t>(s.size()));
  out.append(s.substr(0, 0xFFFF));
}

}  // namespace

void AppendMqttConnect(std::string& out, std::string_view client_id, uint16_t keepalive_s) {
  // Variable header (3.1.2): "MQTT", level 4, flags (clean session), keepalive.
  std::string body;
  AppendString(body, "MQTT");
  body.push_back(4);
  body.push_back(0x02);
  AppendU16(body, keepalive_s);
  AppendString(body, client_id);  // payload (3.1.3)
  out.push_back(static_cast<char>(0x10));
  AppendLength(out, static_cast<uint32_t>(body.size()));
  out.append(body);
}

void AppendMqttPingreq(std::string& out) { out.append("\xC0\x00", 2); }
void AppendMqttDisconnect(std::string& out) { out.append("\xE0\x00", 2); }

void AppendMqttSubscribe(std::string& out, uint16_t packet_id, std::string_view filter) {
  // Fixed header flags must be 0010 (3.8.1).
  out.push_back(static_cast<char>(0x82));
  AppendLength(out, static_cast<uint32_t>(2 + 2 + filter.size() + 1));
  AppendU16(out, packet_id);
  AppendString(out, filter);
  out.push_back(0);  // requested QoS 0
}

void AppendMqttPublish(std::string& out, std::string_view topic, std::string_view payload) {
  out.push_back(static_cast<char>(0x30));  // QoS 0, no DUP, no RETAIN (3.3.1)
  AppendLength(out, static_cast<uint32_t>(2 + topic.size() + payload.size()));
  AppendString(out, topic);
  out.append(payload);
}

MqttStep MqttParser::Fail(size_t used) {
  state_ = State::kError;
  return {used, MqttEvent::kError};
}

// The fixed header is complete: decide how to read the body.
MqttStep MqttParser::StartBody(size_t used) {
  auto type = static_cast<MqttType>(type_byte_ >> 4);
  uint8_t flags = type_byte_ & 0x0F;
  body_have_ = 0;
  switch (type) {
    case MqttType::kConnack:  // 3.2: flags 0, remaining length 2, first and only once
      if (flags != 0 || remaining_ != 2 || connected_) return Fail(used);
      state_ = State::kBody;
      return {used, MqttEvent::kNone};
    case MqttType::kPingresp:  // 3.13: flags 0, length 0
      if (flags != 0 || remaining_ != 0 || !connected_) return Fail(used);
      state_ = State::kType;
      return {used, MqttEvent::kPingresp};
    case MqttType::kSuback:  // 3.9: packet id + at least one return code
      if (flags != 0 || remaining_ < 3 || !connected_) return Fail(used);
      state_ = State::kBody;
      return {used, MqttEvent::kNone};
    case MqttType::kPublish: {  // 3.3: topic, packet id when QoS > 0, payload
      uint8_t qos = (flags >> 1) & 3;
      if (qos == 3 || !connected_ || remaining_ < 2) return Fail(used);
      state_ = State::kTopicLen;
      return {used, MqttEvent::kNone};
    }
    case MqttType::kPuback: case MqttType::kPubrec: case MqttType::kPubcomp: case MqttType::kUnsuback:
      if (!connected_ || remaining_ != 2) return Fail(used);
      left_ = remaining_;
      state_ = State::kSkip;
      return {used, MqttEvent::kNone};
    default:  // a broker never sends CONNECT, SUBSCRIBE, PINGREQ, DISCONNECT... (3.x)
      return Fail(used);
  }
}

MqttStep MqttParser::Feed(const uint8_t* data, size_t n) {
  size_t off = 0;
  while (off < n || state_ == State::kPayload) {
    switch (state_) {
      case State::kError:
        return {off, MqttEvent::kError};
      case State::kType:
        type_byte_ = data[off++];
        remaining_ = 0;
        multiplier_ = 1;
        len_bytes_ = 0;
        state_ = State::kLength;
        break;
      case State::kLength: {
        uint8_t b = data[off++];
        remaining_ += (b & 0x7F) * multiplier_;
        multiplier_ *= 128;
        if (++len_bytes_ == 4 && (b & 0x80)) return Fail(off);  // at most four bytes (2.2.3)
        if (b & 0x80) break;
        MqttStep s = StartBody(off);
        if (s.event != MqttEvent::kNone || state_ == State::kError) return s;
        break;
      }
      case State::kBody: {
        body_[body_have_++] = data[off++];
        auto type = static_cast<MqttType>(type_byte_ >> 4);
        if (type == MqttType::kConnack && body_have_ == 2) {
          // 3.2.2: acknowledge flags (only bit 0), return code 0-5.
          if ((body_[0] & 0xFE) != 0 || body_[1] > 5) return Fail(off);
          session_present_ = body_[0] & 1;
          connack_code_ = body_[1];
          connected_ = connack_code_ == 0;
          state_ = State::kType;
          return {off, MqttEvent::kConnack};
        }
        if (type == MqttType::kSuback && body_have_ == 3) {
          suback_code_ = body_[2];
          if (suback_code_ > 2 && suback_code_ != 0x80) return Fail(off);
          left_ = remaining_ - 3;  // further return codes: not ours to read (one filter sent)
          state_ = left_ ? State::kSkip : State::kType;
          return {off, MqttEvent::kSuback};
        }
        break;
      }
      case State::kTopicLen:
        body_[body_have_++] = data[off++];
        if (body_have_ == 2) {
          uint32_t topic = (uint32_t{body_[0]} << 8) | body_[1];
          uint32_t id = ((type_byte_ >> 1) & 3) ? 2 : 0;
          if (topic == 0 || 2 + topic + id > remaining_) return Fail(off);  // 4.7.3: topic non-empty
          left_ = topic + id;
          remaining_ -= 2 + topic + id;  // what is left is payload
          state_ = State::kTopic;
        }
        break;
      case State::kTopic: {  // topic name, then the packet id at QoS > 0: skipped
        size_t take = left_ < n - off ? left_ : n - off;
        off += take;
        left_ -= static_cast<uint32_t>(take);
        if (left_ == 0) {
          left_ = remaining_;
          state_ = State::kPayload;
          return {off, MqttEvent::kPublishStart};
        }
        break;
      }
      case State::kPayload: {
        if (left_ == 0) {
          state_ = State::kType;
          return {off, MqttEvent::kPublishEnd};
        }
        if (off == n) return {off, MqttEvent::kNone};
        size_t take = left_ < n - off ? left_ : n - off;
        left_ -= static_cast<uint32_t>(take);
        MqttStep s{off + take, MqttEvent::kData, data + off, take};
        return s;
      }
      case State::kSkip: {
        size_t take = left_ < n - off ? left_ : n - off;
        left_ -= static_cast<uint32_t>(take);
        off += take;
        if (left_ == 0) state_ = State::kType;
        break;
      }
    }
  }
  return {off, MqttEvent::kNone};
}

}  // namespace tcpmax::proto

#include "proto/mqtt.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proto/proto_error.h"

namespace tcpmax::proto {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}

// Events as text ("connack:0", "pingresp", "publish:<topic-less payload>",
// "error"), feeding `wire` cut at `cut`.
std::vector<std::string> Events(const std::string& wire, size_t cut) {
  MqttParser p;
  std::vector<std::string> out;
  std::string payload;
  auto* d = reinterpret_cast<const uint8_t*>(wire.data());
  for (auto [at, len] : {std::pair<size_t, size_t>{0, cut}, {cut, wire.size() - cut}}) {
    for (;;) {
      MqttStep s = p.Feed(d + at, len);
      at += s.used;
      len -= s.used;
      switch (s.event) {
        case MqttEvent::kNone: break;
        case MqttEvent::kConnack: out.push_back("connack:" + std::to_string(p.connack_code())); break;
        case MqttEvent::kPingresp: out.push_back("pingresp"); break;
        case MqttEvent::kSuback: out.push_back("suback:" + std::to_string(p.suback_code())); break;
        case MqttEvent::kPublishStart: payload.clear(); break;
        case MqttEvent::kData: payload.append(reinterpret_cast<const char*>(s.data), s.len); break;
        case MqttEvent::kPublishEnd: out.push_back("publish:" + payload); break;
        case MqttEvent::kError: out.push_back("error"); return out;
      }
      if (s.event == MqttEvent::kNone) break;
    }
  }
  return out;
}

TEST(Mqtt, ConnectEncoding) {
  std::string out;
  AppendMqttConnect(out, "c1", 30);
  // 3.1: type 1, remaining 14, "MQTT", level 4, clean session, keepalive 30, id "c1".
  EXPECT_EQ(out, Bytes({0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, 2, 'c', '1'}));
  std::string ping;
  AppendMqttPingreq(ping);
  EXPECT_EQ(ping, Bytes({0xC0, 0x00}));
  std::string sub;
  AppendMqttSubscribe(sub, 7, "a/b");
  EXPECT_EQ(sub, Bytes({0x82, 8, 0, 7, 0, 3, 'a', '/', 'b', 0}));
  std::string big;
  AppendMqttPublish(big, "t", std::string(200, 'p'));
  EXPECT_EQ(static_cast<uint8_t>(big[1]), 0x80 | (203 % 128));  // two-byte remaining length (2.2.3)
  EXPECT_EQ(static_cast<uint8_t>(big[2]), 203 / 128);
}

TEST(Mqtt, SessionAtEveryBoundary) {
  std::string wire = Bytes({0x20, 0x02, 0x00, 0x00, 0xD0, 0x00, 0x90, 0x03, 0x00, 0x07, 0x00});
  AppendMqttPublish(wire, "a/b", "hello");
  wire += Bytes({0x32, 0x0A, 0x00, 0x01, 'x', 0x12, 0x34, 'q', 'o', 's', '1', '!'});  // QoS 1: packet id skipped
  wire += std::string("\x30\x80\x01\x00\x01t", 6) + std::string(125, 'z');           // 128-byte body
  wire += Bytes({0xD0, 0x00});
  std::vector<std::string> want = {"connack:0", "pingresp", "suback:0", "publish:hello", "publish:qos1!",
                                   "publish:" + std::string(125, 'z'), "pingresp"};
  for (size_t cut = 0; cut <= wire.size(); ++cut) EXPECT_EQ(Events(wire, cut), want) << cut;
}

TEST(Mqtt, RefusedConnack) {
  for (int code = 1; code <= 5; ++code) {
    EXPECT_EQ(Events(Bytes({0x20, 0x02, 0x00, code}), 1), (std::vector<std::string>{"connack:" + std::to_string(code)}));
    EXPECT_NE(ConnackError(static_cast<uint8_t>(code)), ProtoError::kMqttMalformed);
  }
  // Refused: nothing else may follow as a session (PINGRESP before CONNACK 0).
  EXPECT_EQ(Events(Bytes({0x20, 0x02, 0x00, 0x05, 0xD0, 0x00}), 0), (std::vector<std::string>{"connack:5", "error"}));
}

TEST(Mqtt, MalformedConnack) {
  std::vector<std::string> err = {"error"};
  EXPECT_EQ(Events(Bytes({0x20, 0x03, 0x00, 0x00, 0x00}), 0), err);  // wrong remaining length
  EXPECT_EQ(Events(Bytes({0x20, 0x01, 0x00}), 0), err);
  EXPECT_EQ(Events(Bytes({0x21, 0x02, 0x00, 0x00}), 0), err);        // reserved flags set
  EXPECT_EQ(Events(Bytes({0x20, 0x02, 0x02, 0x00}), 0), err);        // reserved acknowledge bits
  EXPECT_EQ(Events(Bytes({0x20, 0x02, 0x00, 0x06}), 0), err);        // return code past 5
  EXPECT_EQ(Events(Bytes({0x20, 0x02, 0x00, 0x00, 0x20, 0x02, 0x00, 0x00}), 0),
            (std::vector<std::string>{"connack:0", "error"}));       // a second CONNACK
}

TEST(Mqtt, MalformedPackets) {
  std::vector<std::string> err = {"error"};
  EXPECT_EQ(Events(Bytes({0xD0, 0x00}), 0), err);                                // PINGRESP before CONNACK
  EXPECT_EQ(Events(Bytes({0x10, 0x00}), 0), err);                                // CONNECT from a broker
  EXPECT_EQ(Events(Bytes({0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), 0), err);        // five-byte length
  std::vector<std::string> after = {"connack:0", "error"};
  std::string ok = Bytes({0x20, 0x02, 0x00, 0x00});
  EXPECT_EQ(Events(ok + Bytes({0xD0, 0x01, 0x00}), 0), after);                  // PINGRESP with a body
  EXPECT_EQ(Events(ok + Bytes({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), 0), after);  // QoS 3
  EXPECT_EQ(Events(ok + Bytes({0x30, 0x03, 0x00, 0x05, 't'}), 0), after);       // topic past the packet
  EXPECT_EQ(Events(ok + Bytes({0x30, 0x02, 0x00, 0x00}), 0), after);            // empty topic
  EXPECT_EQ(Events(ok + Bytes({0x90, 0x03, 0x00, 0x01, 0x05}), 0), after);      // SUBACK code 5
}

}  // namespace
}  // namespace tcpmax::proto

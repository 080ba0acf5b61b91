#include "proto/proto_error.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "proto/kind.h"

namespace tcpmax::proto {
namespace {

TEST(ProtoError, KeysAreUniqueAndRoundTrip) {
  std::set<std::string> keys;
  for (int i = 0; i < kProtoErrorCount; ++i) {
    auto e = static_cast<ProtoError>(i);
    const ProtoErrorInfo& info = Describe(e);
    EXPECT_FALSE(info.meaning.empty());
    EXPECT_FALSE(info.remedy.empty());
    EXPECT_TRUE(keys.insert(std::string(info.key)).second) << info.key;
    EXPECT_EQ(ProtoErrorCounts::FromKey(info.key), e);
  }
  EXPECT_EQ(ProtoErrorCounts::FromKey("nope"), ProtoError::kCount);
}

TEST(ProtoError, Classification) {
  EXPECT_EQ(WsCloseError(1006), ProtoError::kWsClose1006);
  EXPECT_EQ(WsCloseError(4001), ProtoError::kWsCloseOther);
  EXPECT_EQ(TlsAlertError(48), ProtoError::kTlsAlertUnknownCa);
  EXPECT_EQ(TlsAlertError(45), ProtoError::kTlsAlertBadCert);
  EXPECT_EQ(TlsAlertError(90), ProtoError::kTlsAlertOther);
  EXPECT_EQ(ConnackError(3), ProtoError::kMqttUnavailable);
  EXPECT_EQ(ConnackError(9), ProtoError::kMqttMalformed);
  EXPECT_EQ(HttpStatusError(404), ProtoError::kHttp4xx);
  EXPECT_EQ(HttpStatusError(503), ProtoError::kHttp5xx);
  EXPECT_EQ(HttpStatusError(200), ProtoError::kCount);
}

TEST(ProtoError, CountsMergeAndSort) {
  ProtoErrorCounts a, b;
  a.Record(ProtoError::kHttp5xx);
  b.Add(ProtoError::kIdleTimeout, 3);
  a.Merge(b);
  EXPECT_EQ(a.Total(), 4u);
  auto sorted = a.Sorted();
  ASSERT_EQ(sorted.size(), 2u);
  EXPECT_EQ(sorted[0].first, ProtoError::kIdleTimeout);
}

TEST(ProtoKind, Names) {
  for (auto p : {Proto::kRaw, Proto::kHttp, Proto::kWs, Proto::kMqtt}) EXPECT_EQ(ParseProto(ProtoName(p)), p);
  EXPECT_FALSE(ParseProto("quic"));
}

}  // namespace
}  // namespace tcpmax::proto

// Names of the query's enums: ParseSourceKind and ParseAggregateBy read back
// exactly what SourceName and AggregateName write, and nothing else.
#include "diag/query.h"

#include <gtest/gtest.h>

namespace tcpmax::diag {
namespace {

TEST(QueryNames, SourceKindRoundTripsAndRejectsOthers) {
  for (SourceKind k : {SourceKind::kAuto, SourceKind::kNetlink, SourceKind::kProc}) {
    EXPECT_EQ(ParseSourceKind(SourceName(k)), k) << SourceName(k);
  }
  EXPECT_EQ(ParseSourceKind("proc"), SourceKind::kProc);
  EXPECT_FALSE(ParseSourceKind("Proc"));
  EXPECT_FALSE(ParseSourceKind(""));
  EXPECT_FALSE(ParseSourceKind("carrier-pigeon"));
}

TEST(QueryNames, AggregateByRoundTripsAndRejectsOthers) {
  for (AggregateBy b : {AggregateBy::kNone, AggregateBy::kLocalPort, AggregateBy::kRemotePort, AggregateBy::kLocalAddr,
                        AggregateBy::kRemoteAddr, AggregateBy::kState}) {
    EXPECT_EQ(ParseAggregateBy(AggregateName(b)), b) << AggregateName(b);
  }
  EXPECT_EQ(ParseAggregateBy("raddr"), AggregateBy::kRemoteAddr);
  EXPECT_FALSE(ParseAggregateBy("color"));
  EXPECT_FALSE(ParseAggregateBy("lports"));
}

}  // namespace
}  // namespace tcpmax::diag

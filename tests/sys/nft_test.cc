#include "sys/nft.h"

#include <gtest/gtest.h>

#include "sys/journal.h"

namespace tcpmax::sys {
namespace {

TEST(Nft, TableHandleIsReadFromTheFirstLineOfAnAnnotatedListing) {
  EXPECT_EQ(ParseNftTableHandle("table inet tcpmax_42 { # handle 7\n\tchain prerouting { # handle 1\n"), 7u);
  EXPECT_EQ(ParseNftTableHandle("table inet t { # handle 123456"), 123456u);
  EXPECT_EQ(ParseNftTableHandle("table inet t {\n# handle 7\n"), std::nullopt);  // not on the table's line
  EXPECT_EQ(ParseNftTableHandle("chain x { # handle 3"), std::nullopt);
  EXPECT_EQ(ParseNftTableHandle("table inet t { # handle x"), std::nullopt);
  EXPECT_EQ(ParseNftTableHandle(""), std::nullopt);
}

TEST(Nft, TheJournalKnowsTheKindByName) {
  EXPECT_EQ(KindName(ChangeKind::kNftTable), "nft_table");
  EXPECT_EQ(ParseKind("nft_table"), ChangeKind::kNftTable);
  // A journal line of this kind survives the codec.
  std::string text = EncodeRecord({"tcpmax-journal", "1", "42", "7", "userland serve"}) +
                     EncodeRecord({"change", "1", "nft_table", "tmx-a", "inet tcpmax_42", "absent", "created"}) +
                     EncodeRecord({"applied", "1", "9"});
  auto info = ParseJournal(text);
  ASSERT_TRUE(info) << info.error().ToString();
  ASSERT_EQ(info->entries.size(), 1u);
  EXPECT_EQ(info->entries[0].change.kind, ChangeKind::kNftTable);
  EXPECT_EQ(info->entries[0].change.key, "inet tcpmax_42");
  EXPECT_EQ(info->entries[0].change.netns, "tmx-a");
  EXPECT_EQ(info->entries[0].applied, "9");
  EXPECT_TRUE(info->entries[0].pending());
}

}  // namespace
}  // namespace tcpmax::sys

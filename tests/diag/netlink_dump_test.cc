// RunDump and ParseDatagram on synthetic answers: socket messages, the
// NLM_F_DUMP_INTR flag, NLMSG_ERROR, truncated and malformed datagrams.
#include "diag/netlink_dump.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>

#include "synth.h"

namespace tcpmax::diag {
namespace {

TEST(NetlinkDump, RequestCarriesStatesAndBytecode) {
  std::vector<uint8_t> bc = {1, 4, 8, 0};
  auto msg = BuildRequest(AF_INET6, StateBit(kEstablished), bc, 7);
  nlmsghdr h;
  std::memcpy(&h, msg.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, SOCK_DIAG_BY_FAMILY);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 7u);
  EXPECT_EQ(h.nlmsg_len, NLMSG_LENGTH(sizeof(inet_diag_req_v2)) + NLA_HDRLEN + bc.size());
  inet_diag_req_v2 r;
  std::memcpy(&r, msg.data() + NLMSG_HDRLEN, sizeof r);
  EXPECT_EQ(r.sdiag_family, AF_INET6);
  EXPECT_EQ(r.sdiag_protocol, IPPROTO_TCP);
  EXPECT_EQ(r.idiag_ext, 0);
  EXPECT_EQ(r.idiag_states, StateBit(kEstablished));
  nlattr a;
  std::memcpy(&a, msg.data() + NLMSG_LENGTH(sizeof r), sizeof a);
  EXPECT_EQ(a.nla_type, INET_DIAG_REQ_BYTECODE);
  EXPECT_EQ(0, std::memcmp(msg.data() + NLMSG_LENGTH(sizeof r) + NLA_HDRLEN, bc.data(), bc.size()));
}

TEST(NetlinkDump, SinglePortsGoInTheSocketId) {
  auto msg = BuildRequest(AF_INET, kAllStates, {}, 1, 7000, 443);
  inet_diag_req_v2 r;
  std::memcpy(&r, msg.data() + NLMSG_HDRLEN, sizeof r);
  EXPECT_EQ(ntohs(r.id.idiag_sport), 7000);
  EXPECT_EQ(ntohs(r.id.idiag_dport), 443);
  EXPECT_EQ(msg.size(), NLMSG_LENGTH(sizeof r));  // no bytecode attribute
}

TEST(NetlinkDump, BothFamiliesUseTheCompatRequest) {
  std::vector<uint8_t> bc = {1, 4, 8, 0};
  auto msg = BuildRequest(AF_UNSPEC, StateBit(kTimeWait), bc, 9);
  nlmsghdr h;
  std::memcpy(&h, msg.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, TCPDIAG_GETSOCK);
  EXPECT_EQ(h.nlmsg_len, NLMSG_LENGTH(sizeof(inet_diag_req)) + NLA_HDRLEN + bc.size());
  inet_diag_req r;
  std::memcpy(&r, msg.data() + NLMSG_HDRLEN, sizeof r);
  EXPECT_EQ(r.idiag_family, AF_UNSPEC);
  EXPECT_EQ(r.idiag_ext, 0);
  EXPECT_EQ(r.idiag_states, StateBit(kTimeWait));
  nlattr a;
  std::memcpy(&a, msg.data() + NLMSG_LENGTH(sizeof r), sizeof a);
  EXPECT_EQ(a.nla_type, INET_DIAG_REQ_BYTECODE);
}

TEST(NetlinkDump, CountsSocketsAcrossDatagramsUntilDone) {
  Scripted s;
  s.datagrams.resize(2);
  for (int i = 0; i < 100; ++i) AppendSock(s.datagrams[0], kEstablished, 7000 + i % 3);
  AppendSock(s.datagrams[1], kTimeWait, 7000);
  AppendDone(s.datagrams[1]);
  Query q;
  q.lports = {{7000, 7001}};
  Tally t(q);
  auto st = RunDump(s, AF_INET, kAllStates, {}, t);
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->messages, 101u);
  EXPECT_EQ(st->datagrams, 2u);
  EXPECT_FALSE(st->interrupted);
  Counts c = t.Finish();
  EXPECT_EQ(c.states[kEstablished], 67u);  // ports 7000 and 7001 of 7000..7002
  EXPECT_EQ(c.states[kTimeWait], 1u);
}

// Found by tests/fuzz/netlink_fuzz: a state past TCP_NEW_SYN_RECV indexed the
// state table out of bounds (and shifted 1u by 127).
TEST(NetlinkDump, ACorruptStateIsAnErrorNotAnOutOfBoundsCount) {
  std::vector<uint8_t> d;
  AppendSock(d, kEstablished, 7000);
  AppendSock(d, 127, 7000);
  AppendDone(d);
  Tally t(Query{});
  DumpStats stats;
  auto r = ParseDatagram(d, AF_INET, t, stats);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, EBADMSG);
  EXPECT_NE(r.error().context.find("state 127"), std::string::npos) << r.error().context;
  EXPECT_EQ(t.Finish().total, 1u) << "the message before the corrupt one was counted, nothing after";
}

TEST(NetlinkDump, DumpIntrIsReported) {
  Scripted s;
  s.datagrams.resize(1);
  AppendSock(s.datagrams[0], kEstablished, 7000, NLM_F_DUMP_INTR);
  AppendDone(s.datagrams[0], NLM_F_DUMP_INTR);
  Tally t{Query{}};
  auto st = RunDump(s, AF_INET, kAllStates, {}, t);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->interrupted);
}

TEST(NetlinkDump, KernelErrorKeepsErrno) {
  Scripted s;
  s.datagrams.resize(1);
  nlmsgerr e{};
  e.error = -EINVAL;
  Append(s.datagrams[0], NLMSG_ERROR, 0, &e, sizeof e);
  Tally t{Query{}};
  auto st = RunDump(s, AF_INET, kAllStates, {}, t);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, EINVAL);
  EXPECT_NE(st.error().ToString().find("inet_diag dump (IPv4)"), std::string::npos);
}

TEST(NetlinkDump, RecvErrorsAreReturned) {
  Scripted s;
  s.error_at = 0;
  s.error_code = ENOBUFS;
  Tally t{Query{}};
  auto st = RunDump(s, AF_INET6, kAllStates, {}, t);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ENOBUFS);
  EXPECT_EQ(s.sent_family, AF_INET6);
}

TEST(NetlinkDump, TruncatedDatagramIsEmsgsize) {
  Scripted s;
  s.datagrams.resize(1);
  AppendSock(s.datagrams[0], kEstablished, 7000);
  s.claimed_extra = 1 << 20;
  Tally t{Query{}};
  auto st = RunDump(s, AF_INET, kAllStates, {}, t);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, EMSGSIZE);
}

TEST(NetlinkDump, MalformedLengthIsEbadmsg) {
  std::vector<uint8_t> d;
  AppendSock(d, kEstablished, 7000);
  uint32_t bad = 100000;
  std::memcpy(d.data(), &bad, sizeof bad);
  Tally t{Query{}};
  DumpStats stats;
  auto r = ParseDatagram(d, AF_INET, t, stats);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, EBADMSG);
}

TEST(NetlinkDump, EndWithoutDoneIsAnError) {
  Scripted s;
  s.datagrams.resize(1);
  AppendSock(s.datagrams[0], kEstablished, 7000);
  Tally t{Query{}};
  EXPECT_FALSE(RunDump(s, AF_INET, kAllStates, {}, t).has_value());
}

}  // namespace
}  // namespace tcpmax::diag

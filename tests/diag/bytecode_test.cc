// The compiled inet_diag bytecode must pass the kernel's audit and accept
// exactly the sockets the user-space Filter accepts. The kernel's checker
// and interpreter (net/ipv4/inet_diag.c: inet_diag_bc_audit, valid_cc,
// inet_diag_bc_run) are re-implemented here from their documented rules.
#include "diag/bytecode.h"

#include <linux/inet_diag.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "diag/filter.h"
#include "replay_util.h"

namespace tcpmax::diag {
namespace {

inet_diag_bc_op OpAt(const std::vector<uint8_t>& bc, size_t at) {
  inet_diag_bc_op op;
  std::memcpy(&op, &bc[at], sizeof op);
  return op;
}

// valid_cc: `cc` bytes before the end must be an op boundary on the yes chain.
bool ValidJumpTarget(const std::vector<uint8_t>& bc, int cc) {
  int len = static_cast<int>(bc.size());
  size_t at = 0;
  while (len >= 0) {
    if (cc > len) return false;
    if (cc == len) return true;
    inet_diag_bc_op op = OpAt(bc, at);
    if (op.yes < 4 || (op.yes & 3)) return false;
    len -= op.yes;
    at += op.yes;
  }
  return false;
}

// inet_diag_bc_audit for the ops we emit.
bool Audit(const std::vector<uint8_t>& bc) {
  int len = static_cast<int>(bc.size());
  size_t at = 0;
  while (len > 0) {
    inet_diag_bc_op op = OpAt(bc, at);
    int min_len = sizeof op;
    switch (op.code) {
      case INET_DIAG_BC_S_COND:
      case INET_DIAG_BC_D_COND: {
        inet_diag_hostcond hc;
        if (len < int(sizeof op + sizeof hc)) return false;
        std::memcpy(&hc, &bc[at + sizeof op], sizeof hc);
        int alen = hc.family == AF_INET ? 4 : hc.family == AF_INET6 ? 16 : 0;
        if (hc.prefix_len > alen * 8) return false;
        min_len += sizeof hc + alen;
        if (len < min_len) return false;
        break;
      }
      case INET_DIAG_BC_S_GE: case INET_DIAG_BC_S_LE: case INET_DIAG_BC_D_GE: case INET_DIAG_BC_D_LE:
        min_len += sizeof op;
        if (len < min_len) return false;
        break;
      case INET_DIAG_BC_JMP: case INET_DIAG_BC_NOP: break;
      default: return false;
    }
    if (op.code != INET_DIAG_BC_NOP) {
      if (op.no < min_len || op.no > len + 4 || (op.no & 3)) return false;
      if (op.no < len && !ValidJumpTarget(bc, len - op.no)) return false;
    }
    if (op.yes < min_len || op.yes > len + 4 || (op.yes & 3)) return false;
    at += op.yes;
    len -= op.yes;
  }
  return len == 0;
}

bool PrefixMatch(const uint8_t* a, const uint8_t* b, int bits) {
  for (int i = 0; i < bits; ++i) {
    int mask = 0x80 >> (i % 8);
    if ((a[i / 8] & mask) != (b[i / 8] & mask)) return false;
  }
  return true;
}

// inet_diag_bc_run.
bool KernelRun(const std::vector<uint8_t>& bc, const SockView& s) {
  int len = static_cast<int>(bc.size());
  size_t at = 0;
  while (len > 0) {
    inet_diag_bc_op op = OpAt(bc, at);
    bool yes = true;
    switch (op.code) {
      case INET_DIAG_BC_NOP: break;
      case INET_DIAG_BC_JMP: yes = false; break;
      case INET_DIAG_BC_S_GE: yes = s.sport >= OpAt(bc, at + 4).no; break;
      case INET_DIAG_BC_S_LE: yes = s.sport <= OpAt(bc, at + 4).no; break;
      case INET_DIAG_BC_D_GE: yes = s.dport >= OpAt(bc, at + 4).no; break;
      case INET_DIAG_BC_D_LE: yes = s.dport <= OpAt(bc, at + 4).no; break;
      case INET_DIAG_BC_S_COND:
      case INET_DIAG_BC_D_COND: {
        inet_diag_hostcond hc;
        std::memcpy(&hc, &bc[at + 4], sizeof hc);
        const uint8_t* want = &bc[at + 4 + sizeof hc];
        const uint8_t* addr = op.code == INET_DIAG_BC_S_COND ? s.saddr : s.daddr;
        int port = op.code == INET_DIAG_BC_S_COND ? s.sport : s.dport;
        if (hc.port != -1 && hc.port != port) { yes = false; break; }
        if (hc.family != AF_UNSPEC && hc.family != s.family) {
          static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
          yes = s.family == AF_INET6 && hc.family == AF_INET && std::memcmp(addr, mapped, 12) == 0 &&
                PrefixMatch(addr + 12, want, hc.prefix_len);
          break;
        }
        yes = hc.prefix_len == 0 || PrefixMatch(addr, want, hc.prefix_len);
        break;
      }
      default: ADD_FAILURE() << "unexpected op " << int(op.code); return false;
    }
    int step = yes ? op.yes : op.no;
    len -= step;
    at += step;
  }
  return len == 0;
}

TEST(Bytecode, NoFiltersNoProgram) {
  EXPECT_TRUE(CompileBytecode(Query{}).empty());
  Query q;
  q.lports = {{1, 65535}};
  EXPECT_TRUE(CompileBytecode(q).empty());
}

TEST(Bytecode, RejectAllPassesAuditAndRejects) {
  auto bc = RejectAllBytecode();
  EXPECT_TRUE(Audit(bc));
  for (const auto& s : testing::LoadMixSockets()) EXPECT_FALSE(KernelRun(bc, s.View()));
}

TEST(Bytecode, SinglePortRange) {
  Query q;
  q.lports = {{7000, 7004}};
  auto bc = CompileBytecode(q);
  ASSERT_TRUE(Audit(bc));
  uint8_t a[16] = {};
  EXPECT_TRUE(KernelRun(bc, SockView{AF_INET, 1, 7000, 1, a, a}));
  EXPECT_TRUE(KernelRun(bc, SockView{AF_INET, 1, 7004, 1, a, a}));
  EXPECT_FALSE(KernelRun(bc, SockView{AF_INET, 1, 6999, 1, a, a}));
  EXPECT_FALSE(KernelRun(bc, SockView{AF_INET, 1, 7005, 1, a, a}));
}

Cidr RandomCidr(std::mt19937& rng) {
  static const char* kBases[] = {"127.0.0.1", "127.0.0.0", "10.0.0.0", "::1", "::", "::ffff:127.0.0.1", "0.0.0.0"};
  IpAddress ip = *ParseIp(kBases[rng() % std::size(kBases)]);
  int max = ip.family == AF_INET ? 32 : 128;
  int prefix = std::uniform_int_distribution<int>(0, max)(rng);
  if (rng() % 2) prefix = max;
  return *ParseCidr(fmt::format("{}/{}", ip.ToString(), prefix));
}

std::vector<PortRange> RandomPorts(std::mt19937& rng) {
  std::vector<PortRange> r;
  int n = rng() % 4;
  for (int i = 0; i < n; ++i) {
    uint16_t lo = rng() % 2 ? 7000 + rng() % 6 : 30000 + rng() % 35000;
    uint16_t hi = lo + rng() % (rng() % 2 ? 3 : 30000);
    if (hi < lo) hi = 65535;
    r.push_back({lo, hi});
  }
  return r;
}

TEST(Bytecode, AgreesWithUserSpaceFilterOnRandomQueries) {
  std::mt19937 rng(12345);
  auto socks = testing::LoadMixSockets();
  ASSERT_EQ(socks.size(), 42u);
  int accepted = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Query q;
    q.lports = RandomPorts(rng);
    q.rports = RandomPorts(rng);
    for (int n = rng() % 3; n > 0; --n) q.src.push_back(RandomCidr(rng));
    for (int n = rng() % 3; n > 0; --n) q.dst.push_back(RandomCidr(rng));
    auto bc = CompileBytecode(q);
    ASSERT_TRUE(bc.empty() || Audit(bc)) << "iteration " << iter;
    Filter f(q);
    for (const auto& s : socks) {
      bool want = f.Matches(s.View());
      bool got = bc.empty() || KernelRun(bc, s.View());
      ASSERT_EQ(got, want) << "iteration " << iter;
      (want ? accepted : rejected)++;
    }
  }
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 1000);
}

TEST(Bytecode, TooManyRangesFallsBackToUserSpace) {
  Query q;
  for (int p = 1; p < 60000; p += 10) q.lports.push_back({uint16_t(p), uint16_t(p)});
  EXPECT_TRUE(CompileBytecode(q).empty());
}

}  // namespace
}  // namespace tcpmax::diag

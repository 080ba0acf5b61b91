// The kernel-side filter of the AF_PACKET link, run here by a small
// interpreter of the classic BPF instructions it uses, on packets that must
// and must not reach the engine. (The integration test runs it in the kernel.)
#include <linux/filter.h>

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "userland/link/af_packet_link.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::link {
namespace {

// Returns the filter's verdict (0: drop), nullopt for an instruction this
// interpreter does not know or an out-of-range load (the kernel drops then).
std::optional<uint32_t> RunFilter(const std::vector<sock_filter>& prog, const std::vector<uint8_t>& pkt) {
  uint32_t a = 0, x = 0, mem[16] = {};
  auto load = [&](size_t off, size_t n) -> std::optional<uint32_t> {
    if (off + n > pkt.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | pkt[off + i];
    return v;
  };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    std::optional<uint32_t> v;
    switch (f.code) {
      case BPF_LD | BPF_B | BPF_ABS: v = load(f.k, 1); break;
      case BPF_LD | BPF_H | BPF_ABS: v = load(f.k, 2); break;
      case BPF_LD | BPF_W | BPF_ABS: v = load(f.k, 4); break;
      case BPF_LD | BPF_H | BPF_IND: v = load(x + f.k, 2); break;
      case BPF_LDX | BPF_B | BPF_MSH: {
        auto b = load(f.k, 1);
        if (!b) return std::nullopt;
        x = (*b & 0xf) * 4;
        continue;
      }
      case BPF_ALU | BPF_AND | BPF_K: a &= f.k; continue;
      case BPF_ALU | BPF_XOR | BPF_X: a ^= x; continue;
      case BPF_ALU | BPF_MUL | BPF_K: a *= f.k; continue;
      case BPF_ALU | BPF_RSH | BPF_K: a >>= f.k; continue;
      case BPF_ALU | BPF_SUB | BPF_K: a -= f.k; continue;
      case BPF_ALU | BPF_DIV | BPF_K: a /= f.k; continue;
      case BPF_ST: mem[f.k & 15] = a; continue;
      case BPF_LDX | BPF_W | BPF_MEM: x = mem[f.k & 15]; continue;
      case BPF_RET | BPF_A: return a;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f.k ? f.jt : f.jf; continue;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= f.k ? f.jt : f.jf; continue;
      case BPF_JMP | BPF_JGT | BPF_K: pc += a > f.k ? f.jt : f.jf; continue;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & f.k) != 0 ? f.jt : f.jf; continue;
      case BPF_RET | BPF_K: return f.k;
      default: return std::nullopt;
    }
    if (!v) return std::nullopt;
    a = *v;
  }
  return std::nullopt;  // fell off the end: the kernel's checker refuses such a program
}

std::vector<uint8_t> Tcp(uint32_t dst, uint16_t dport, uint32_t src = 0xc6120002, uint16_t sport = 40000) {
  wire::SegmentSpec s;
  s.src_ip = src;
  s.dst_ip = dst;
  s.src_port = sport;
  s.dst_port = dport;
  s.flags = wire::kSyn;
  s.mss = 1460;  // options: the port is found past a longer header too
  std::vector<uint8_t> out(wire::kMaxHeaders);
  out.resize(wire::BuildSegment(s, out));
  return out;
}

bool Passes(const std::vector<sock_filter>& prog, const std::vector<uint8_t>& pkt) {
  auto v = RunFilter(prog, pkt);
  return v && *v > 0;
}

TEST(AfPacketFilterTest, OnlyTcpToTheEnginesAddressAndPortsPasses) {
  auto prog = AfPacketFilter(*ParseCidr("198.18.0.1/32"), {{80, 80}, {7000, 7009}});
  EXPECT_TRUE(Passes(prog, Tcp(0xc6120001, 80)));
  EXPECT_TRUE(Passes(prog, Tcp(0xc6120001, 7000)));
  EXPECT_TRUE(Passes(prog, Tcp(0xc6120001, 7009)));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6120001, 81)));    // the kernel's other ports
  EXPECT_FALSE(Passes(prog, Tcp(0xc6120001, 7010)));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6120001, 22)));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6120003, 80)));    // another address
  std::vector<uint8_t> udp = Tcp(0xc6120001, 80);
  udp[9] = 17;
  EXPECT_FALSE(Passes(prog, udp));
  std::vector<uint8_t> frag = Tcp(0xc6120001, 80);
  frag[7] = 1;  // fragment offset 8
  EXPECT_FALSE(Passes(prog, frag));
  std::vector<uint8_t> v6 = Tcp(0xc6120001, 80);
  v6[0] = 0x60;
  EXPECT_FALSE(Passes(prog, v6));
  std::vector<uint8_t> cut = Tcp(0xc6120001, 80);
  cut.resize(10);  // the loads run past the end: dropped
  EXPECT_FALSE(Passes(prog, cut));
}

TEST(AfPacketFilterTest, ARangeOfAddressesAndManyPortRangesKeepJumpsInReach) {
  std::vector<PortRange> ports;
  for (uint16_t p = 1000; p < 1000 + 2 * 200; p += 2) ports.push_back({p, p});  // 200 single ports
  auto prog = AfPacketFilter(*ParseCidr("198.19.0.0/16"), ports);
  for (const sock_filter& f : prog) EXPECT_LE(f.jt + f.jf, 3);  // every jump is local
  EXPECT_TRUE(Passes(prog, Tcp(0xc6130a0b, 1398)));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6130a0b, 1399)));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6140001, 1000)));  // outside the /16
}

// The kernel takes the fanout program's result modulo the group's size.
uint32_t Shard(const std::vector<sock_filter>& prog, const std::vector<uint8_t>& pkt, uint32_t n) {
  auto v = RunFilter(prog, pkt);
  EXPECT_TRUE(v);
  return v.value_or(0) % n;
}

TEST(AfPacketFilterTest, FanoutByPeerGivesEverySegmentOfAConnectionTheShardOfItsPeer) {
  auto prog = FanoutByPeer();
  for (uint32_t ip : {0xc6130001u, 0xc613ff07u, 0x0a000001u}) {
    for (uint16_t port : {1024, 1025, 40000, 65535}) {
      for (uint32_t n : {1u, 2u, 3u, 4u}) {
        std::vector<uint8_t> syn = Tcp(0xc6120001, 80, ip, port);
        EXPECT_EQ(Shard(prog, syn, n), PeerShard(ip, port, n));
        // Another segment of the same connection (other options, other local port): the same shard.
        EXPECT_EQ(Shard(prog, Tcp(0xc6120001, 8080, ip, port), n), PeerShard(ip, port, n));
      }
    }
  }
}

TEST(AfPacketFilterTest, PeerShardsSplitATupleRangeEvenlyEnoughForTheTableReserve) {
  // serve reserves n/2 plus half a percent per table for two engines.
  uint64_t count[2] = {0, 0};
  for (uint32_t a = 0; a < 4096; ++a) {
    for (uint16_t p = 1024; p < 1024 + 256; ++p) ++count[PeerShard(0xc6130000 + a, p, 2)];
  }
  double half = double(count[0] + count[1]) / 2;
  EXPECT_LT(std::abs(double(count[0]) - half) / half, 0.005) << count[0] << " vs " << count[1];
}

TEST(AfPacketFilterTest, FanoutByLocalRangeGivesEachClientEngineItsPartOfTheSourceRange) {
  Cidr source = *ParseCidr("198.19.0.0/16");
  auto two = FanoutByLocalRange(source, 2);
  EXPECT_EQ(Shard(two, Tcp(0xc6130000, 2000, 0xc6120001, 80), 2), 0u);
  EXPECT_EQ(Shard(two, Tcp(0xc6137fff, 2000, 0xc6120001, 80), 2), 0u);
  EXPECT_EQ(Shard(two, Tcp(0xc6138000, 2000, 0xc6120001, 80), 2), 1u);
  EXPECT_EQ(Shard(two, Tcp(0xc613ffff, 2000, 0xc6120001, 80), 2), 1u);
  auto four = FanoutByLocalRange(source, 4);
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(Shard(four, Tcp(0xc6130000 + i * 0x4000 + 7, 2000, 0xc6120001, 80), 4), i);
  }
}

std::vector<uint8_t> Tcp6(wire::Ip6 dst, uint16_t dport, wire::Ip6 src, uint16_t sport = 40000) {
  wire::SegmentSpec s;
  s.v6 = true;
  s.src_ip6 = src;
  s.dst_ip6 = dst;
  s.src_port = sport;
  s.dst_port = dport;
  s.flags = wire::kSyn;
  s.mss = 1440;
  std::vector<uint8_t> out(wire::kMaxHeaders);
  out.resize(wire::BuildSegment(s, out));
  return out;
}

constexpr wire::Ip6 kServer6{0x20010db800000000ull, 1};
constexpr wire::Ip6 kPeer6{0x20010db800000000ull, 2};

TEST(AfPacketFilterTest, Ipv6FilterPassesOnlyTcpToTheEnginesAddressAndPorts) {
  auto prog = AfPacketFilter(*ParseCidr("2001:db8::1/128"), {{80, 80}, {7000, 7009}});
  EXPECT_TRUE(Passes(prog, Tcp6(kServer6, 80, kPeer6)));
  EXPECT_TRUE(Passes(prog, Tcp6(kServer6, 7009, kPeer6)));
  EXPECT_FALSE(Passes(prog, Tcp6(kServer6, 81, kPeer6)));
  EXPECT_FALSE(Passes(prog, Tcp6(kServer6, 22, kPeer6)));
  // Another address: differing in the first, a middle, or the last word.
  EXPECT_FALSE(Passes(prog, Tcp6(wire::Ip6{kServer6.hi ^ (1ull << 63), 1}, 80, kPeer6)));
  EXPECT_FALSE(Passes(prog, Tcp6(wire::Ip6{kServer6.hi, 1 | (1ull << 40)}, 80, kPeer6)));
  EXPECT_FALSE(Passes(prog, Tcp6(wire::Ip6{kServer6.hi, 3}, 80, kPeer6)));
  std::vector<uint8_t> ext = Tcp6(kServer6, 80, kPeer6);
  ext[6] = 0;  // hop-by-hop options first: not walked
  EXPECT_FALSE(Passes(prog, ext));
  std::vector<uint8_t> icmp = Tcp6(kServer6, 80, kPeer6);
  icmp[6] = 58;  // neighbour discovery stays with the kernel
  EXPECT_FALSE(Passes(prog, icmp));
  EXPECT_FALSE(Passes(prog, Tcp(0xc6120001, 80)));  // IPv4
  std::vector<uint8_t> cut = Tcp6(kServer6, 80, kPeer6);
  cut.resize(41);
  EXPECT_FALSE(Passes(prog, cut));
  // A client's range: a /112.
  auto range = AfPacketFilter(*ParseCidr("2001:db8:1::/112"), {{1024, 65535}});
  EXPECT_TRUE(Passes(range, Tcp6(wire::Ip6{0x20010db800010000ull, 0xffff}, 2000, kServer6)));
  EXPECT_FALSE(Passes(range, Tcp6(wire::Ip6{0x20010db800010000ull, 0x10000}, 2000, kServer6)));
}

TEST(AfPacketFilterTest, Ipv6FanoutsShardByPeerLow32AndPortAndBySourceRange) {
  auto prog = FanoutByPeer(true);
  for (uint32_t low : {1u, 0xc613ff07u}) {
    for (uint16_t port : {1024, 40000}) {
      for (uint32_t n : {2u, 3u}) {
        wire::Ip6 peer{0x20010db800010000ull, low};
        EXPECT_EQ(Shard(prog, Tcp6(kServer6, 80, peer, port), n), PeerShard(low, port, n));
      }
    }
  }
  auto two = FanoutByLocalRange(*ParseCidr("2001:db8:1::/112"), 2);
  EXPECT_EQ(Shard(two, Tcp6(wire::Ip6{0x20010db800010000ull, 0x7fff}, 2000, kServer6), 2), 0u);
  EXPECT_EQ(Shard(two, Tcp6(wire::Ip6{0x20010db800010000ull, 0x8000}, 2000, kServer6), 2), 1u);
}

}  // namespace
}  // namespace tcpmax::userland::link

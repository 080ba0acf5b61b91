#include "userland/link/af_packet_link.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "userland/wire/bytes.h"
#include "userland/wire/resegment.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::link {
namespace {

using wire::Load32;

constexpr uint32_t kAccept = 0x40000;  // snap length: the whole packet (GSO packets reach 64 KiB)

sock_filter Stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

tpacket_block_desc* Block(uint8_t* ring, uint32_t block_bytes, uint32_t i) {
  return reinterpret_cast<tpacket_block_desc*>(ring + size_t(i) * block_bytes);
}

// The port tests both filters end with: A holds the TCP destination port.
void AppendPortTests(std::vector<sock_filter>& f, const std::vector<PortRange>& ports) {
  for (const PortRange& r : ports) {
    f.push_back(Jump(BPF_JMP | BPF_JGE | BPF_K, r.lo, 0, 2));
    f.push_back(Jump(BPF_JMP | BPF_JGT | BPF_K, r.hi, 1, 0));
    f.push_back(Stmt(BPF_RET | BPF_K, kAccept));
  }
  f.push_back(Stmt(BPF_RET | BPF_K, 0));
}

// IPv6 (RFC 8200): version 6, next header TCP (an extension header is not
// walked: dropped), the destination in `local` word by word, then the TCP
// destination port right after the fixed 40-byte header.
std::vector<sock_filter> AfPacketFilter6(const Cidr& local, const std::vector<PortRange>& ports) {
  std::vector<sock_filter> f = {
      Stmt(BPF_LD | BPF_B | BPF_ABS, 0),
      Stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, 0x60, 1, 0),  // IPv6
      Stmt(BPF_RET | BPF_K, 0),
      Stmt(BPF_LD | BPF_B | BPF_ABS, 6),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 1, 0),  // next header TCP
      Stmt(BPF_RET | BPF_K, 0),
  };
  for (int w = 0; w < 4; ++w) {
    int bits = std::clamp(local.prefix - 32 * w, 0, 32);
    if (bits == 0) break;
    uint32_t mask = bits == 32 ? ~uint32_t(0) : ~uint32_t(0) << (32 - bits);
    f.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, uint32_t(24 + 4 * w)));  // destination word w
    f.push_back(Stmt(BPF_ALU | BPF_AND | BPF_K, mask));
    f.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, Load32(local.base.bytes.data() + 4 * w) & mask, 1, 0));
    f.push_back(Stmt(BPF_RET | BPF_K, 0));
  }
  f.push_back(Stmt(BPF_LD | BPF_H | BPF_ABS, 42));  // TCP destination port
  AppendPortTests(f, ports);
  return f;
}

}  // namespace

std::vector<sock_filter> AfPacketFilter(const Cidr& local, const std::vector<PortRange>& ports) {
  if (local.base.is_v6()) return AfPacketFilter6(local, ports);
  uint32_t mask = local.prefix == 0 ? 0 : ~uint32_t(0) << (32 - local.prefix);
  // Every test jumps over the `ret #0` right after it when it passes, so all
  // jumps stay short whatever the number of port ranges.
  std::vector<sock_filter> f = {
      Stmt(BPF_LD | BPF_B | BPF_ABS, 0),           // version and IHL
      Stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 1, 0),  // IPv4
      Stmt(BPF_RET | BPF_K, 0),
      Stmt(BPF_LD | BPF_B | BPF_ABS, 9),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, 6, 1, 0),  // TCP
      Stmt(BPF_RET | BPF_K, 0),
      Stmt(BPF_LD | BPF_H | BPF_ABS, 6),
      Jump(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 0, 1),  // MF or an offset: a fragment
      Stmt(BPF_RET | BPF_K, 0),
      Stmt(BPF_LD | BPF_W | BPF_ABS, 16),  // destination address
      Stmt(BPF_ALU | BPF_AND | BPF_K, mask),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, local.base.v4() & mask, 1, 0),
      Stmt(BPF_RET | BPF_K, 0),
      Stmt(BPF_LDX | BPF_B | BPF_MSH, 0),  // X = IHL * 4
      Stmt(BPF_LD | BPF_H | BPF_IND, 2),   // TCP destination port
  };
  AppendPortTests(f, ports);
  return f;
}

std::vector<sock_filter> FanoutByPeer(bool v6) {
  if (v6) {
    return {
        Stmt(BPF_LD | BPF_H | BPF_ABS, 40),   // TCP source port
        Stmt(BPF_ST, 0),
        Stmt(BPF_LD | BPF_W | BPF_ABS, 20),   // the low 32 bits of the source
        Stmt(BPF_LDX | BPF_W | BPF_MEM, 0),
        Stmt(BPF_ALU | BPF_XOR | BPF_X, 0),
        Stmt(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
        Stmt(BPF_ALU | BPF_RSH | BPF_K, 16),
        Stmt(BPF_RET | BPF_A, 0),
    };
  }
  return {
      Stmt(BPF_LDX | BPF_B | BPF_MSH, 0),   // X = IHL * 4
      Stmt(BPF_LD | BPF_H | BPF_IND, 0),    // TCP source port
      Stmt(BPF_ST, 0),                      // M[0] = port
      Stmt(BPF_LD | BPF_W | BPF_ABS, 12),   // source address
      Stmt(BPF_LDX | BPF_W | BPF_MEM, 0),
      Stmt(BPF_ALU | BPF_XOR | BPF_X, 0),
      Stmt(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
      Stmt(BPF_ALU | BPF_RSH | BPF_K, 16),
      Stmt(BPF_RET | BPF_A, 0),
  };
}

std::vector<sock_filter> FanoutByLocalRange(const Cidr& local, uint32_t shards) {
  uint64_t per = std::max<uint64_t>(1, local.Size() / std::max<uint32_t>(1, shards));
  bool v6 = local.base.is_v6();
  // The destination address (IPv6: its low 32 bits; the range lies in one /96).
  return {
      Stmt(BPF_LD | BPF_W | BPF_ABS, v6 ? 36 : 16),
      Stmt(BPF_ALU | BPF_SUB | BPF_K, v6 ? Load32(local.base.bytes.data() + 12) : local.base.v4()),
      Stmt(BPF_ALU | BPF_DIV | BPF_K, uint32_t(per)),
      Stmt(BPF_RET | BPF_A, 0),
  };
}

Result<std::unique_ptr<AfPacketLink>> AfPacketLink::Open(const AfPacketConfig& config) {
  std::unique_ptr<AfPacketLink> link(new AfPacketLink(config));
  if (auto r = link->SetUp(); !r) return tl::unexpected(r.error());
  return link;
}

Result<void> AfPacketLink::SetUp() {
  const std::string& dev = config_.interface;
  v6_ = config_.local.base.is_v6();
  protocol_ = htons(v6_ ? ETH_P_IPV6 : ETH_P_IP);
  ifindex_ = int(::if_nametoindex(dev.c_str()));
  if (ifindex_ == 0) return ErrnoError("interface " + dev);
  // Protocol 0: nothing is received until bind(), after the filter is on.
  fd_.Reset(::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) return ErrnoError("socket(AF_PACKET) for " + dev);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd_.get(), SIOCGIFMTU, &ifr) != 0) return ErrnoError("SIOCGIFMTU " + dev);
  mtu_ = uint32_t(ifr.ifr_mtu);
  std::vector<sock_filter> prog = AfPacketFilter(config_.local, config_.local_ports);
  sock_fprog fprog{uint16_t(prog.size()), prog.data()};
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) != 0) {
    return ErrnoError("SO_ATTACH_FILTER on " + dev);
  }
  int version = TPACKET_V3;
  if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) {
    return ErrnoError("PACKET_VERSION TPACKET_V3 on " + dev);
  }
  tpacket_req3 req{};
  req.tp_block_size = config_.ring_block_bytes;
  req.tp_block_nr = config_.ring_blocks;
  req.tp_frame_size = 2048;
  req.tp_frame_nr = uint32_t(uint64_t(req.tp_block_size) * req.tp_block_nr / req.tp_frame_size);
  req.tp_retire_blk_tov = 1;  // ms: a block is handed over at least this often
  if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) != 0) {
    return ErrnoError(fmt::format("PACKET_RX_RING {} x {} B on {}", req.tp_block_nr, req.tp_block_size, dev));
  }
  ring_bytes_ = size_t(req.tp_block_size) * req.tp_block_nr;
  void* m = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd_.get(), 0);
  if (m == MAP_FAILED) m = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (m == MAP_FAILED) return ErrnoError("mmap the receive ring of " + dev);
  ring_ = static_cast<uint8_t*>(m);
  int one = 1;
  if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0) {
    return ErrnoError("PACKET_QDISC_BYPASS on " + dev);
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = protocol_;
  sll.sll_ifindex = ifindex_;
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) return ErrnoError("bind to " + dev);
  if (config_.fanout.group != 0) {
    int arg = int(config_.fanout.group) | (PACKET_FANOUT_CBPF << 16);
    if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
      return ErrnoError(fmt::format("PACKET_FANOUT group {} on {}", config_.fanout.group, dev));
    }
    sock_fprog fan{uint16_t(config_.fanout.program.size()), config_.fanout.program.data()};
    if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_FANOUT_DATA, &fan, sizeof(fan)) != 0) {
      return ErrnoError("PACKET_FANOUT_DATA on " + dev);
    }
  }
  return {};
}

AfPacketLink::~AfPacketLink() {
  if (ring_ != nullptr) ::munmap(ring_, ring_bytes_);
}

bool AfPacketLink::AddressOf(std::span<const uint8_t> pkt, bool source, uint64_t* hi, uint64_t* lo) const {
  if (v6_) {
    if (pkt.size() < 40) return false;
    wire::Ip6 a = wire::Ip6FromBytes(pkt.data() + (source ? 8 : 24));
    *hi = a.hi;
    *lo = a.lo;
    return true;
  }
  if (pkt.size() < 20) return false;
  *hi = 0;
  *lo = Load32(pkt.data() + (source ? 12 : 16));
  return true;
}

// Direct-mapped by the low 32 bits of the address; the whole address is compared.
void AfPacketLink::Learn(uint64_t hi, uint64_t lo, const uint8_t* mac) {
  Neighbor& n = neighbors_[(uint32_t(lo) * 0x9e3779b1u) >> 20];
  n.hi = hi;
  n.lo = lo;
  std::memcpy(n.mac.data(), mac, 6);
  last_heard_ = n;
  heard_ = true;
}

const uint8_t* AfPacketLink::NeighborOf(uint64_t hi, uint64_t lo) const {
  const Neighbor& n = neighbors_[(uint32_t(lo) * 0x9e3779b1u) >> 20];
  if (n.hi == hi && n.lo == lo && (hi | lo) != 0) return n.mac.data();
  return heard_ ? last_heard_.mac.data() : nullptr;
}

bool AfPacketLink::Take(const tpacket3_hdr* h, PacketBatch& batch) {
  const uint8_t* base = reinterpret_cast<const uint8_t*>(h);
  const auto* sll = reinterpret_cast<const sockaddr_ll*>(base + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
  if (sll->sll_pkttype == PACKET_OUTGOING) return true;  // our own, looped back by a tap
  std::span<const uint8_t> pkt(base + h->tp_net, h->tp_snaplen);
  size_t max_len = std::min<size_t>(mtu_, PacketBatch::kSlotBytes);
  size_t pieces = pkt.size() <= max_len ? 1 : wire::SegmentsNeeded(pkt, max_len);
  if (pieces == 0) return true;  // not cut-able: dropped here, as a NIC would drop it
  if (batch.capacity() - batch.size() < pieces) return false;
  uint64_t hi = 0, lo = 0;
  if (sll->sll_halen == 6 && AddressOf(pkt, true, &hi, &lo)) Learn(hi, lo, sll->sll_addr);
  if (pieces == 1) {
    std::span<uint8_t> slot = batch.NextSlot();
    std::memcpy(slot.data(), pkt.data(), pkt.size());
    if (h->tp_status & TP_STATUS_CSUMNOTREADY) wire::CompleteTcpChecksum(slot.first(pkt.size()));
    batch.Push(pkt.size());
    return true;
  }
  ++stats_.rx_merged;
  for (size_t i = 0; i < pieces; ++i) batch.Push(wire::BuildSegmentPiece(pkt, max_len, i, batch.NextSlot()));
  return true;
}

Result<size_t> AfPacketLink::Receive(PacketBatch& batch) {
  batch.Clear();
  const uint32_t block_bytes = config_.ring_block_bytes;
  while (!batch.full()) {
    tpacket_block_desc* b = Block(ring_, block_bytes, block_);
    if (next_pkt_ == nullptr) {
      if ((__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
      left_in_block_ = b->hdr.bh1.num_pkts;
      next_pkt_ = reinterpret_cast<uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt;
    }
    if (left_in_block_ == 0) {
      __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      block_ = (block_ + 1) % config_.ring_blocks;
      next_pkt_ = nullptr;
      continue;
    }
    const auto* h = reinterpret_cast<const tpacket3_hdr*>(next_pkt_);
    if (!Take(h, batch)) break;
    --left_in_block_;
    next_pkt_ += h->tp_next_offset;
  }
  stats_.rx_packets += batch.size();
  if (batch.size() > 0) ++stats_.rx_wakeups;
  if ((++receives_ & 1023) == 0) ReadRingDrops();
  return batch.size();
}

void AfPacketLink::ReadRingDrops() {
  tpacket_stats_v3 st{};
  socklen_t len = sizeof(st);
  // Reading the statistics resets them in the kernel: they are added up here.
  if (::getsockopt(fd_.get(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) stats_.rx_ring_drops += st.tp_drops;
}

Result<void> AfPacketLink::Send(PacketBatch& batch) {
  for (size_t from = 0; from < batch.size(); from += kSendChunk) {
    if (auto r = SendChunk(batch, from, std::min(batch.size(), from + kSendChunk)); !r) return r;
  }
  batch.Clear();
  return {};
}

Result<void> AfPacketLink::SendChunk(const PacketBatch& batch, size_t from, size_t to) {
  sockaddr_ll addrs[kSendChunk];
  iovec iov[kSendChunk];
  mmsghdr msgs[kSendChunk];
  size_t ready = 0;
  for (size_t i = from; i < to; ++i) {
    std::span<const uint8_t> p = batch.Packet(i);
    uint64_t hi = 0, lo = 0;
    const uint8_t* mac = AddressOf(p, false, &hi, &lo) ? NeighborOf(hi, lo) : nullptr;
    if (mac == nullptr) {
      ++stats_.tx_errors;
      stats_.last_tx_errno = EHOSTUNREACH;  // no neighbor heard from yet
      continue;
    }
    sockaddr_ll& to_addr = addrs[ready];
    to_addr = sockaddr_ll{};
    to_addr.sll_family = AF_PACKET;
    to_addr.sll_protocol = protocol_;
    to_addr.sll_ifindex = ifindex_;
    to_addr.sll_halen = 6;
    std::memcpy(to_addr.sll_addr, mac, 6);
    iov[ready] = iovec{const_cast<uint8_t*>(p.data()), p.size()};
    msgs[ready] = mmsghdr{};
    msgs[ready].msg_hdr.msg_name = &to_addr;
    msgs[ready].msg_hdr.msg_namelen = sizeof(sockaddr_ll);
    msgs[ready].msg_hdr.msg_iov = &iov[ready];
    msgs[ready].msg_hdr.msg_iovlen = 1;
    ++ready;
  }
  size_t done = 0;
  while (done < ready) {
    int sent = ::sendmmsg(fd_.get(), msgs + done, unsigned(ready - done), MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EBADF || errno == EFAULT) return ErrnoError("sendmmsg on " + config_.interface);
      ++stats_.tx_errors;  // ENOBUFS, EAGAIN, ENETDOWN, EMSGSIZE: this packet is lost, the rest go on
      stats_.last_tx_errno = errno;
      ++done;
      continue;
    }
    stats_.tx_packets += uint64_t(sent);
    done += size_t(sent);
  }
  return {};
}

Result<bool> AfPacketLink::Wait(int timeout_ms) {
  ReadRingDrops();
  pollfd p{fd_.get(), POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return false;
    return ErrnoError("poll " + config_.interface);
  }
  return r > 0;
}

}  // namespace tcpmax::userland::link

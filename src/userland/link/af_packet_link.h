// AfPacketLink: a PacketLink over a packet socket (AF_PACKET, SOCK_DGRAM) on
// an existing interface whose address the kernel owns: the classic way a
// user-space stack shares a NIC with the kernel (with the firewall recipe,
// firewall.h, keeping the kernel's stack from answering).
//
// Receive: a TPACKET_V3 ring (blocks of frames mapped into this process; one
// poll wakes for a whole block, retired by the kernel at least every
// millisecond). A classic BPF filter attached before the socket is bound lets
// through only unfragmented IPv4 TCP segments (or, for an IPv6 engine,
// IPv6 segments whose next header is TCP) to the engine's addresses and
// ports, so the kernel's own traffic on the interface (ARP, neighbour
// discovery, other ports) never reaches the engine. The socket is bound to
// one protocol: ETH_P_IP, or ETH_P_IPV6 for an IPv6 engine. Packets handed over unfinished are made whole
// (wire/resegment.h): a partial checksum is completed, a GRO- or GSO-merged
// packet is cut into segments of at most the interface MTU.
//
// Send: sendmmsg(2), one system call per batch, bypassing the qdisc
// (PACKET_QDISC_BYPASS). The kernel builds the link header: our interface's
// address as source, and as destination the hardware address the peer's
// packets came from (learned per source address on receive; a peer
// never heard from gets the last address heard, the next hop on a veth or
// behind a router). Nothing learned yet: the packet is counted as a tx error.
// Thread-safety: one thread per link.
#pragma once

#include <linux/filter.h>
#include <linux/if_packet.h>

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/fd.h"
#include "userland/link/packet_link.h"

namespace tcpmax::userland::link {

// Spreading one interface's packets over several sockets (one engine thread
// each): PACKET_FANOUT with a classic BPF program that returns the shard
// index (the kernel takes it modulo the group's size). Sockets join in
// shard order, so socket i gets the packets the program gives index i.
struct Fanout {
  uint16_t group = 0;                 // 0: no fanout
  std::vector<::sock_filter> program;
};
// Server: the shard of a segment is a hash of the peer's address (IPv6: its
// low 32 bits) and port, so every segment of a connection reaches the same
// engine and table.
std::vector<::sock_filter> FanoutByPeer(bool v6 = false);
// Client: `local` split into `shards` equal ranges (a power of two, at most
// local's size; IPv6: a /96 or narrower); the shard is the range the
// destination address falls in.
std::vector<::sock_filter> FanoutByLocalRange(const Cidr& local, uint32_t shards);
// The shard FanoutByPeer gives (host-order address, or IPv6 low 32 bits, and
// port), for tests and for reserving tables: ((ip ^ port) * 0x9e3779b1) >> 16,
// modulo shards.
inline uint32_t PeerShard(uint32_t ip, uint16_t port, uint32_t shards) {
  return ((ip ^ port) * 0x9e3779b1u >> 16) % shards;
}

struct AfPacketConfig {
  Fanout fanout;
  std::string interface;            // must exist in the calling thread's namespace
  Cidr local;                       // destinations the engine owns (IPv4, or IPv6: then the link is IPv6)
  std::vector<PortRange> local_ports;  // TCP destination ports the engine owns
  // 64 MiB in 512 blocks: a block is handed over when full or after 1 ms,
  // so at high rates the ring absorbs about half a second of descheduling.
  uint32_t ring_blocks = 512;       // TPACKET_V3 blocks of ring_block_bytes
  uint32_t ring_block_bytes = 128 << 10;
};

// The classic BPF program of the filter above (SOCK_DGRAM: offsets from the
// IP header; IPv6 when `local` is). Exposed for the unit test.
std::vector<::sock_filter> AfPacketFilter(const Cidr& local, const std::vector<PortRange>& ports);

class AfPacketLink : public PacketLink {
 public:
  static Result<std::unique_ptr<AfPacketLink>> Open(const AfPacketConfig& config);
  ~AfPacketLink() override;

  Result<size_t> Receive(PacketBatch& batch) override;
  Result<void> Send(PacketBatch& batch) override;
  Result<bool> Wait(int timeout_ms) override;
  const LinkStats& stats() const override { return stats_; }
  uint32_t mtu() const { return mtu_; }
  // Where packets to a peer never heard from go until one is heard (a
  // client's first SYNs): the next hop's hardware address.
  void SetNextHop(const std::array<uint8_t, 6>& mac) {
    last_heard_.mac = mac;
    heard_ = true;
  }
  const std::string& interface() const { return config_.interface; }

 private:
  struct Neighbor {
    uint64_t hi = 0, lo = 0;  // the address; IPv4 in lo
    std::array<uint8_t, 6> mac{};
  };
  static constexpr size_t kNeighborSlots = 4096;  // direct-mapped by source address
  static constexpr size_t kSendChunk = 256;       // packets per sendmmsg call at most

  explicit AfPacketLink(AfPacketConfig config) : config_(std::move(config)), neighbors_(kNeighborSlots) {}
  Result<void> SetUp();
  // Takes one ring packet into `batch`; false when the batch has no room for it.
  bool Take(const ::tpacket3_hdr* h, PacketBatch& batch);
  // The source (or destination) address of an IP packet of this link's
  // family; false when the packet is too short.
  bool AddressOf(std::span<const uint8_t> pkt, bool source, uint64_t* hi, uint64_t* lo) const;
  void Learn(uint64_t hi, uint64_t lo, const uint8_t* mac);
  const uint8_t* NeighborOf(uint64_t hi, uint64_t lo) const;
  void ReadRingDrops();
  Result<void> SendChunk(const PacketBatch& batch, size_t from, size_t to);

  AfPacketConfig config_;
  bool v6_ = false;
  uint16_t protocol_ = 0;  // ETH_P_IP or ETH_P_IPV6, network order
  Fd fd_;
  int ifindex_ = 0;
  uint32_t mtu_ = 1500;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t block_ = 0;                 // block being read
  const uint8_t* next_pkt_ = nullptr;  // next packet in it; nullptr: block not opened
  uint32_t left_in_block_ = 0;
  std::vector<Neighbor> neighbors_;
  Neighbor last_heard_;
  bool heard_ = false;
  uint64_t receives_ = 0;
  LinkStats stats_;
};

}  // namespace tcpmax::userland::link

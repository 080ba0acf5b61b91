// PacketLink: how the engines reach the wire. A link moves raw IPv4 packets
// in batches: over TUN (tun_link.h) or a packet socket on a shared
// interface (af_packet_link.h). PacketBatch is a fixed set of packet buffers allocated once.
// Thread-safety: a link and its batches belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"

namespace tcpmax::userland::link {

class PacketBatch {
 public:
  static constexpr size_t kSlotBytes = 2048;  // MTU 1500 plus room

  explicit PacketBatch(size_t slots) : storage_(slots * kSlotBytes), lengths_(slots, 0) {}

  size_t capacity() const { return lengths_.size(); }
  size_t size() const { return count_; }
  bool full() const { return count_ == lengths_.size(); }
  void Clear() { count_ = 0; }

  // The buffer of slot i (kSlotBytes long) and its packet.
  std::span<uint8_t> Slot(size_t i) { return {storage_.data() + i * kSlotBytes, kSlotBytes}; }
  std::span<const uint8_t> Packet(size_t i) const { return {storage_.data() + i * kSlotBytes, lengths_[i]}; }
  // Marks the next free slot as holding `len` bytes.
  void Push(size_t len) { lengths_[count_++] = uint16_t(len); }
  std::span<uint8_t> NextSlot() { return Slot(count_); }

 private:
  std::vector<uint8_t> storage_;
  std::vector<uint16_t> lengths_;
  size_t count_ = 0;
};

struct LinkStats {
  uint64_t rx_packets = 0;
  uint64_t rx_wakeups = 0;     // Receive calls that returned packets
  uint64_t tx_packets = 0;
  uint64_t tx_errors = 0;      // packets the kernel refused (counted, not fatal)
  int last_tx_errno = 0;
  uint64_t rx_ring_drops = 0;  // packets the kernel could not put in a receive ring (ring full)
  uint64_t rx_merged = 0;      // GRO/GSO-merged packets cut back into segments

  // Sums another link's counters (several engine threads); last_tx_errno: the latest non-zero.
  LinkStats& operator+=(const LinkStats& o) {
    rx_packets += o.rx_packets;
    rx_wakeups += o.rx_wakeups;
    tx_packets += o.tx_packets;
    tx_errors += o.tx_errors;
    if (o.last_tx_errno != 0) last_tx_errno = o.last_tx_errno;
    rx_ring_drops += o.rx_ring_drops;
    rx_merged += o.rx_merged;
    return *this;
  }
};

class PacketLink {
 public:
  virtual ~PacketLink() = default;
  // Fills `batch` (cleared first) with packets ready now, without blocking.
  virtual Result<size_t> Receive(PacketBatch& batch) = 0;
  // Sends every packet in `batch`, then clears it.
  virtual Result<void> Send(PacketBatch& batch) = 0;
  // Waits up to `timeout_ms` for packets; true when some are ready. EINTR is
  // a value (false) so a signal ends the wait.
  virtual Result<bool> Wait(int timeout_ms) = 0;
  virtual const LinkStats& stats() const = 0;
};

}  // namespace tcpmax::userland::link

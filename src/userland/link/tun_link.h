// TunLink: a PacketLink over a Linux TUN device (IFF_TUN | IFF_NO_PI: raw
// IPv4 packets, no header). The device exists as long as the link is open
// (not persistent), so closing the link removes it with its addresses and
// routes. One read() per packet and one write() per packet, drained in
// batches per wakeup.
// Thread-safety: one thread per link.
#pragma once

#include <memory>
#include <string>

#include "core/fd.h"
#include "userland/link/packet_link.h"

namespace tcpmax::userland::link {

class TunLink : public PacketLink {
 public:
  // Creates device `name` in the calling thread's network namespace.
  static Result<std::unique_ptr<TunLink>> Create(const std::string& name);

  Result<size_t> Receive(PacketBatch& batch) override;
  Result<void> Send(PacketBatch& batch) override;
  Result<bool> Wait(int timeout_ms) override;
  const LinkStats& stats() const override { return stats_; }
  const std::string& name() const { return name_; }

 private:
  TunLink(Fd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}

  Fd fd_;
  std::string name_;
  LinkStats stats_;
};

}  // namespace tcpmax::userland::link

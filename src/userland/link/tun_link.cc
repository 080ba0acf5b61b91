#include "userland/link/tun_link.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tcpmax::userland::link {

Result<std::unique_ptr<TunLink>> TunLink::Create(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return PlainError("tun name '" + name + "' must be 1-15 characters");
  Fd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError("open /dev/net/tun");
  ifreq ifr{};
  // IFF_TUN_EXCL: never attach to an existing (persistent) device of another program.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return ErrnoError("TUNSETIFF " + name);
  return std::unique_ptr<TunLink>(new TunLink(std::move(fd), name));
}

Result<size_t> TunLink::Receive(PacketBatch& batch) {
  batch.Clear();
  while (!batch.full()) {
    std::span<uint8_t> slot = batch.NextSlot();
    ssize_t n = ::read(fd_.get(), slot.data(), slot.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      return ErrnoError("read " + name_);
    }
    batch.Push(size_t(n));
  }
  stats_.rx_packets += batch.size();
  if (batch.size() > 0) ++stats_.rx_wakeups;
  return batch.size();
}

Result<void> TunLink::Send(PacketBatch& batch) {
  for (size_t i = 0; i < batch.size(); ++i) {
    std::span<const uint8_t> p = batch.Packet(i);
    ssize_t n = ::write(fd_.get(), p.data(), p.size());
    if (n < 0) {
      if (errno == EBADF || errno == EFAULT) return ErrnoError("write " + name_);
      ++stats_.tx_errors;  // e.g. ENOBUFS, EAGAIN, EIO while the device is down
      stats_.last_tx_errno = errno;
      continue;
    }
    ++stats_.tx_packets;
  }
  batch.Clear();
  return {};
}

Result<bool> TunLink::Wait(int timeout_ms) {
  pollfd p{fd_.get(), POLLIN, 0};
  int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return false;
    return ErrnoError("poll " + name_);
  }
  return r > 0;
}

}  // namespace tcpmax::userland::link

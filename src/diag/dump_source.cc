#include "diag/dump_source.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

namespace tcpmax::diag {
namespace {

constexpr int kReceiveBuffer = 4 << 20;  // 4 MiB: a dump never overruns it
constexpr uint8_t kFrameVersion = 1;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

Result<std::unique_ptr<NetlinkSource>> NetlinkSource::Open() {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return ErrnoError("socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
  Fd owned(fd);
  int size = kReceiveBuffer;
  // SO_RCVBUFFORCE passes net.core.rmem_max when we may; otherwise take what
  // SO_RCVBUF grants (a dump is paced by our reads, so this is not fatal).
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return ErrnoError("bind netlink socket");
  return std::unique_ptr<NetlinkSource>(new NetlinkSource(std::move(owned)));
}

Result<void> NetlinkSource::Send(int family, std::span<const uint8_t> request) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = ::sendto(fd_.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                         sizeof kernel);
    if (n >= 0) return {};
    if (errno != EINTR) return ErrnoError(fmt::format("send inet_diag request (family {})", family));
  }
}

Result<size_t> NetlinkSource::Receive(std::span<uint8_t> buf) {
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_TRUNC);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError("recv inet_diag answer");
  }
}

Result<std::unique_ptr<ReplaySource>> ReplaySource::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError(ENOENT, fmt::format("open recording {}", path));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FromBytes(bytes, path);
}

Result<std::unique_ptr<ReplaySource>> ReplaySource::FromBytes(std::span<const uint8_t> bytes,
                                                              const std::string& name) {
  auto src = std::unique_ptr<ReplaySource>(new ReplaySource());
  src->name_ = name;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 8 || bytes[at + 5] != kFrameVersion) {
      return PlainError(fmt::format("recording {}: bad frame header at byte {}", name, at));
    }
    uint32_t len = GetU32(&bytes[at]);
    int family = bytes[at + 4];
    if (bytes.size() - at - 8 < len) return PlainError(fmt::format("recording {}: frame at byte {} cut short", name, at));
    src->frames_.push_back({family, std::vector<uint8_t>(bytes.begin() + at + 8, bytes.begin() + at + 8 + len)});
    at += 8 + len;
  }
  return src;
}

Result<void> ReplaySource::Send(int family, std::span<const uint8_t>) {
  family_ = family;
  for (const Datagram& d : frames_)
    if (d.family == family) return {};
  // As a kernel without the request would: the caller may try another form.
  return ErrnoError(EOPNOTSUPP, fmt::format("recording {}: no answers for family {}", name_, family));
}

Result<size_t> ReplaySource::Receive(std::span<uint8_t> buf) {
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    if (it->family != family_) continue;
    size_t n = it->bytes.size();
    std::memcpy(buf.data(), it->bytes.data(), std::min(n, buf.size()));
    frames_.erase(it);
    return n;
  }
  return PlainError(fmt::format("recording {}: no more answers for family {}", name_, family_));
}

Result<std::unique_ptr<RecordingSource>> RecordingSource::Create(std::unique_ptr<DumpSource> inner,
                                                                 const std::string& path) {
  auto src = std::unique_ptr<RecordingSource>(new RecordingSource());
  src->inner_ = std::move(inner);
  src->path_ = path;
  src->out_.open(path, std::ios::binary | std::ios::app);
  if (!src->out_) return ErrnoError(fmt::format("open {} for recording", path));
  return src;
}

Result<void> RecordingSource::Send(int family, std::span<const uint8_t> request) {
  family_ = family;
  return inner_->Send(family, request);
}

Result<size_t> RecordingSource::Receive(std::span<uint8_t> buf) {
  auto n = inner_->Receive(buf);
  if (!n) return n;
  size_t kept = std::min(*n, buf.size());
  uint8_t header[8] = {};
  PutU32(header, static_cast<uint32_t>(kept));
  header[4] = static_cast<uint8_t>(family_);
  header[5] = kFrameVersion;
  out_.write(reinterpret_cast<const char*>(header), sizeof header);
  out_.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(kept));
  if (!out_) return ErrnoError(fmt::format("write recording {}", path_));
  return n;
}

}  // namespace tcpmax::diag

#include "probe/own_netns.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include <fcntl.h>

#include <fmt/format.h>

#include "core/fd.h"
#include "sys/sysctl.h"

namespace tcpmax::probe {
namespace {

constexpr uint64_t kMinBuckets = 1ull << 16;
constexpr uint64_t kMaxBuckets = 1ull << 24;  // the sysctl's ceiling (tcp_child_ehash_entries_max)

Result<void> LoopbackUp() {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ErrnoError("socket for loopback");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return ErrnoError("SIOCGIFFLAGS lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return ErrnoError("SIOCSIFFLAGS lo up");
  return {};
}

// tcp_ehash_entries reads negative in a namespace that shares the host's hash.
uint64_t Buckets(const std::string& v) {
  long long n = 0;
  try {
    n = std::stoll(v);
  } catch (...) {
    return 0;
  }
  return n > 0 ? static_cast<uint64_t>(n) : 0;
}

}  // namespace

uint64_t EhashBucketsFor(uint64_t sockets) {
  uint64_t want = std::bit_ceil(std::max<uint64_t>(sockets, 1));
  return std::clamp(want, kMinBuckets, kMaxBuckets);
}

Result<OwnNetns> EnterOwnNetns(uint64_t sockets) {
  OwnNetns out;
  auto host = sys::ReadLiveSysctl("net.ipv4.tcp_ehash_entries");
  if (!host) return tl::unexpected(host.error());
  out.host_buckets = Buckets(*host);
  std::vector<std::pair<std::string, std::string>> mirror;
  for (const char* name : kMirroredSysctls) {
    if (auto v = sys::ReadLiveSysctl(name)) mirror.emplace_back(name, *v);
  }
  out.buckets = EhashBucketsFor(sockets);
  Fd host_ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!host_ns.valid()) return ErrnoError("open /proc/self/ns/net");
  auto g = sys::SysctlGuard::Set("net.ipv4.tcp_child_ehash_entries", std::to_string(out.buckets));
  if (!g) return tl::unexpected(g.error());
  if (::unshare(CLONE_NEWNET) != 0) return ErrnoError("unshare(CLONE_NEWNET)");  // g restores the host's value
  // The sysctl is read once, when a namespace is made, and belongs to the
  // host's namespace: put it back from there at once.
  Fd own_ns(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own_ns.valid()) return ErrnoError("open /proc/self/ns/net (new namespace)");
  if (::setns(host_ns.get(), CLONE_NEWNET) != 0) return ErrnoError("setns back to the host's namespace");
  auto restored = g->Restore();
  if (::setns(own_ns.get(), CLONE_NEWNET) != 0) return ErrnoError("setns into the probe's namespace");
  if (!restored) {
    out.notes.push_back("net.ipv4.tcp_child_ehash_entries NOT restored: " + restored.error().ToString() +
                        " (tcpmax restore retries it)");
  }
  auto inside = sys::ReadLiveSysctl("net.ipv4.tcp_ehash_entries");
  if (!inside) return tl::unexpected(inside.error());
  if (Buckets(*inside) == 0) {
    return PlainError(fmt::format("the new namespace shares the host's established hash (tcp_ehash_entries {})",
                                  *inside));
  }
  out.buckets = Buckets(*inside);
  if (auto up = LoopbackUp(); !up) return tl::unexpected(up.error());
  for (const auto& [name, value] : mirror) {
    auto now = sys::ReadLiveSysctl(name);
    if (now && sys::SameSysctlValue(*now, value)) continue;
    if (auto w = sys::WriteLiveSysctl(name, value); !w) {
      out.notes.push_back(fmt::format("{} stays {} in the probe's namespace (the host has {}): {}", name,
                                      now ? *now : "?", value, w.error().ToString()));
    }
  }
  return out;
}

}  // namespace tcpmax::probe

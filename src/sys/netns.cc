#include "sys/netns.h"

#include <dirent.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

namespace tcpmax::sys {

std::string NetnsPath(std::string_view name) { return fmt::format("/run/netns/{}", name); }

Result<Fd> OpenNetns(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return ErrnoError(EINVAL, fmt::format("netns '{}': not a namespace name", name));
  }
  std::string path = NetnsPath(name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(fmt::format("netns '{}': open {}", name, path));
  return Fd(fd);
}

std::string NetnsId::ToString() const { return fmt::format("{}:{}", dev, ino); }

std::optional<NetnsId> NetnsId::Parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  NetnsId id;
  auto a = std::from_chars(text.data(), text.data() + colon, id.dev);
  auto b = std::from_chars(text.data() + colon + 1, text.data() + text.size(), id.ino);
  if (a.ec != std::errc() || a.ptr != text.data() + colon || b.ec != std::errc() ||
      b.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return id;
}

Result<NetnsId> NetnsIdOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
  return NetnsId{uint64_t(st.st_dev), uint64_t(st.st_ino)};
}

Result<NetnsId> NamedNetnsId(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return ErrnoError(EINVAL, fmt::format("netns '{}': not a namespace name", name));
  }
  return NetnsIdOf(NetnsPath(name));
}

Result<void> RefuseHostNetns(std::string_view name) {
  auto id = NamedNetnsId(name);
  if (!id) return tl::unexpected(id.error());
  for (const char* path : {"/proc/self/ns/net", "/proc/1/ns/net"}) {
    auto other = NetnsIdOf(path);
    // pid 1 may be out of reach (a container without ptrace rights over its
    // init); the uplink check (NetnsUplinks) still applies then.
    if (!other && (other.error().code == EACCES || other.error().code == EPERM)) continue;
    if (!other) return tl::unexpected(other.error());
    if (*other == *id) {
      return ErrnoError(EPERM, fmt::format("netns '{}' is the same namespace as {} (the host's or tcpmax's own)",
                                           name, path));
    }
  }
  return {};
}

Result<std::string> CurrentNetnsName() {
  auto self = NetnsIdOf("/proc/thread-self/ns/net");
  if (!self) return tl::unexpected(self.error());
  DIR* dir = ::opendir("/run/netns");
  if (dir == nullptr) {
    if (errno == ENOENT) return std::string();
    return ErrnoError("opendir /run/netns");
  }
  std::string found;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    auto id = NamedNetnsId(name);
    if (id && *id == *self) {
      found = name;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

Result<std::vector<std::string>> NetnsUplinks(std::string_view name) {
  auto scope = NetnsScope::Enter(name);
  if (!scope) return tl::unexpected(scope.error());
  Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return ErrnoError(fmt::format("socket in netns '{}'", name));
  struct if_nameindex* list = ::if_nameindex();
  if (list == nullptr) return ErrnoError(fmt::format("list interfaces of netns '{}'", name));
  std::vector<std::string> out;
  for (struct if_nameindex* i = list; i->if_index != 0; ++i) {
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
    if (::ioctl(sock.get(), SIOCGIFHWADDR, &ifr) != 0) continue;
    int type = ifr.ifr_hwaddr.sa_family;
    if (type != ARPHRD_LOOPBACK && type != ARPHRD_NONE) out.emplace_back(i->if_name);
  }
  ::if_freenameindex(list);
  return out;
}

Result<void> RemoveNamedNetns(std::string_view name) {
  auto id = NamedNetnsId(name);
  if (!id) return tl::unexpected(id.error());
  std::string path = NetnsPath(name);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) return ErrnoError("umount " + path);
  if (::unlink(path.c_str()) != 0) return ErrnoError("unlink " + path);
  return {};
}

Result<NetnsScope> NetnsScope::Enter(std::string_view name) {
  if (name.empty()) return NetnsScope(Fd());
  auto target = OpenNetns(name);
  if (!target) return tl::unexpected(target.error());
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return ErrnoError("open /proc/thread-self/ns/net");
  Fd original(self);
  if (::setns(target->get(), CLONE_NEWNET) != 0) {
    return ErrnoError(fmt::format("setns into netns '{}'", name));
  }
  return NetnsScope(std::move(original));
}

NetnsScope::~NetnsScope() {
  // Going back can only fail if the original namespace vanished, which it
  // cannot while we hold its fd; nothing useful to do on failure.
  if (original_.valid()) (void)::setns(original_.get(), CLONE_NEWNET);
}

}  // namespace tcpmax::sys

#include "sys/netns.h"

#include <fcntl.h>
#include <sched.h>

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

// Named network namespaces (/run/netns/NAME, as made by `ip netns add`):
// opening one, and running code inside one for a while.
//
// setns(2) moves only the calling thread, so a NetnsScope is bound to the
// thread that made it; sockets opened inside stay in that namespace after the
// scope ends. Needs CAP_SYS_ADMIN. Not thread-safe: one scope per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::sys {

// "/run/netns/NAME".
std::string NetnsPath(std::string_view name);

// Opens the namespace file of `name`. A name with '/' or "."/".." is refused
// (EINVAL); a missing namespace gives ENOENT.
Result<Fd> OpenNetns(std::string_view name);

// A namespace's identity: device and inode of its nsfs file, the same for
// every path that names it (/run/netns/NAME, /proc/PID/ns/net).
struct NetnsId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  friend bool operator==(const NetnsId&, const NetnsId&) = default;
  std::string ToString() const;                           // "4:4026531840"
  static std::optional<NetnsId> Parse(std::string_view);  // inverse of ToString
};

// The identity of the namespace at `path` (follows the bind mount).
Result<NetnsId> NetnsIdOf(const std::string& path);
// The identity of named namespace NAME (/run/netns/NAME); ENOENT when absent.
Result<NetnsId> NamedNetnsId(std::string_view name);
// Fails (EPERM) when NAME is the host's namespace (that of pid 1) or the one
// this process runs in: tcpmax must never treat those as its own.
Result<void> RefuseHostNetns(std::string_view name);
// Interfaces of namespace NAME other than loopback and TUN devices (by
// hardware type): any of them (ethernet, veth, a bridge) may lead off the box.
Result<std::vector<std::string>> NetnsUplinks(std::string_view name);
// The name of the named namespace (/run/netns/NAME) the calling thread is
// in, "" when it is in none (the host's, or an unnamed one): what a change
// made here is journalled under, so `tcpmax restore` run elsewhere finds it.
Result<std::string> CurrentNetnsName();
// Removes the name NAME as `ip netns del` does (detach the bind mount,
// unlink the file). The namespace itself lives on while something uses it.
Result<void> RemoveNamedNetns(std::string_view name);

// Moves the calling thread into a named namespace; the destructor moves it
// back to where it was. Move-only.
class NetnsScope {
 public:
  // An empty name is the caller's current namespace: nothing is changed.
  static Result<NetnsScope> Enter(std::string_view name);

  NetnsScope(NetnsScope&&) noexcept = default;
  NetnsScope& operator=(NetnsScope&&) = delete;
  NetnsScope(const NetnsScope&) = delete;
  ~NetnsScope();

 private:
  explicit NetnsScope(Fd original) : original_(std::move(original)) {}
  Fd original_;  // invalid when nothing was changed
};

}  // namespace tcpmax::sys

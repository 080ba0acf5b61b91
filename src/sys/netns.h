// Named network namespaces (/run/netns/NAME, as made by `ip netns add`):
// opening one, and running code inside one for a while.
//
// setns(2) moves only the calling thread, so a NetnsScope is bound to the
// thread that made it; sockets opened inside stay in that namespace after the
// scope ends. Needs CAP_SYS_ADMIN. Not thread-safe: one scope per thread.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::sys {

// "/run/netns/NAME".
std::string NetnsPath(std::string_view name);

// Opens the namespace file of `name`. A name with '/' or "."/".." is refused
// (EINVAL); a missing namespace gives ENOENT.
Result<Fd> OpenNetns(std::string_view name);

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

#include "sys/rlimit.h"

#include <sys/resource.h>

#include <string>

namespace tcpmax::sys {

Result<Rlimit> GetNofile() { return LiveReader().GetRlimit(RlimitKind::kNofile); }

Result<Rlimit> RaiseNofileToHard() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return ErrnoError("getrlimit RLIMIT_NOFILE");
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return ErrnoError("setrlimit RLIMIT_NOFILE soft to hard");
  }
  return GetNofile();
}

Result<Rlimit> SetNofile(uint64_t limit) {
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = limit == kUnlimited ? RLIM_INFINITY : rlim_t(limit);
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return ErrnoError("setrlimit RLIMIT_NOFILE to " + std::to_string(limit));
  }
  return GetNofile();
}

}  // namespace tcpmax::sys

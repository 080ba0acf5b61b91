// RLIMIT_NOFILE of this process: read it, raise the soft limit to the hard.
//
// The soft limit is what open()/socket()/accept() check (EMFILE past it);
// any process may raise it up to the hard limit. Raising the hard limit needs
// CAP_SYS_RESOURCE and stops at fs.nr_open.
// Thread-safety: process-wide state; call from one thread at start-up.
#pragma once

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

Result<Rlimit> GetNofile();
// Sets soft = hard and returns the new limits (unchanged when already equal).
Result<Rlimit> RaiseNofileToHard();
// Sets both soft and hard to `limit` (needs CAP_SYS_RESOURCE to go up).
Result<Rlimit> SetNofile(uint64_t limit);

}  // namespace tcpmax::sys

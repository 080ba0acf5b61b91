// Facts about another process, read from /proc: what `probe --server` and
// `load --server-pid` know about the server under test.
//
//   /proc/PID/limits      RLIMIT_NOFILE soft and hard ("Max open files")
//   /proc/PID/fd          stat().st_size is the number of open descriptors
//                         (Linux 6.2+; older kernels count the entries)
//   /proc/PID/status      RssAnon (heap, stacks), Threads, PPid, Uid
//   /proc/PID/stat        utime + stime (CPU ticks)
//   /proc/PID/cmdline     the command line
//   /proc/PID/task/*/children   the children, for the process tree
// SocketInodes walks /proc/PID/fd with readlink ("socket:[N]"): exact, but it
// creates a proc inode and a dentry per descriptor, so callers do it once to
// verify, not every sample.
// Thread-safety: reentrant.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

struct ProcessFacts {
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t uid = 0;
  std::string comm;          // /proc/PID/comm: "nginx"
  std::string cmdline;       // arguments joined by spaces: "nginx: worker process"
  uint64_t nofile_soft = 0;  // RLIMIT_NOFILE; kUnlimited when "unlimited"
  uint64_t nofile_hard = 0;
  uint64_t fds = 0;          // open descriptors now
  uint64_t anon_bytes = 0;   // RssAnon
  uint64_t threads = 0;
  uint64_t cpu_ticks = 0;    // utime + stime, in clock ticks (sysconf(_SC_CLK_TCK))
};

// nofile values use sys::kUnlimited (reader.h) for "unlimited".

// Reads every fact of `pid`. ENOENT (with the pid in the context) when the
// process does not exist or exited meanwhile.
Result<ProcessFacts> ReadProcessFacts(pid_t pid);
// The number of open descriptors of `pid`.
Result<uint64_t> CountFds(pid_t pid);
// `pid` and all its descendants, `pid` first; empty when `pid` is gone.
std::vector<pid_t> ProcessTree(pid_t pid);
// The inodes of every socket `pid` has open, sorted.
Result<std::vector<uint64_t>> SocketInodes(pid_t pid);
// The same over several processes (ones that exited meanwhile add nothing), sorted.
std::vector<uint64_t> SocketInodes(const std::vector<pid_t>& pids);
// Parses the "Max open files" row of /proc/PID/limits into {soft, hard}.
Result<std::pair<uint64_t, uint64_t>> ParseNofileLimits(std::string_view limits_text);
// Clock ticks per second for cpu_ticks.
uint64_t ClockTicksPerSecond();

}  // namespace tcpmax::sys

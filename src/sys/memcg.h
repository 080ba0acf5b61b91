// Memory control groups of other processes, and ones tcpmax creates: what
// `probe --server` reads to know what a server's connections cost the kernel.
//
// v1 (this project's machines: /sys/fs/cgroup/memory): memory.usage_in_bytes,
//    memory.kmem.usage_in_bytes (slab and other kernel memory),
//    memory.kmem.tcp.usage_in_bytes (socket buffers, when TCP accounting is on).
//    (memory.kmem.slabinfo is empty on kernels since 5.9: no per-group caches.)
// v2 (memory controller on the unified hierarchy): memory.current and
//    memory.stat's kernel and sock.
// v2 is used where the unified hierarchy offers the memory controller; v1
// otherwise.
//
// A group tcpmax creates (CreateChildMemoryCgroup) sits below tcpmax's own
// memory group, is written to the run journal first (kind "cgroup") and is
// removed by RemoveMemoryCgroup, or by the journal's undo after any exit,
// which kills what still runs in it: only processes tcpmax started are there.
// Thread-safety: reentrant.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace tcpmax::sys {

struct MemoryCgroup {
  int version = 0;   // 1 or 2
  std::string dir;   // absolute: /sys/fs/cgroup/memory/a/b
  std::string path;  // as /proc/PID/cgroup names it: /a/b
  std::optional<uint64_t> journal_id;  // set when tcpmax created it
};

// What a memory group is charged now, bytes.
struct CgroupMemory {
  uint64_t usage = 0;           // everything charged (v1 usage_in_bytes, v2 memory.current)
  uint64_t kernel = 0;          // kernel memory (v1 kmem.usage_in_bytes, v2 memory.stat kernel)
  uint64_t sock = 0;            // socket buffers (v1 kmem.tcp.usage_in_bytes, v2 memory.stat sock)
  std::optional<uint64_t> limit;  // the group's own limit; nullopt: none
};

// The memory group of this process / of `pid`.
Result<MemoryCgroup> OwnMemoryCgroup();
Result<MemoryCgroup> MemoryCgroupOfPid(pid_t pid);
// A group named by the user: an absolute directory under /sys/fs/cgroup, or a
// path as /proc/PID/cgroup prints it ("/system.slice/nginx.service"), looked
// up in the v2 then the v1 memory hierarchy. ENOENT names the path.
Result<MemoryCgroup> MemoryCgroupAt(std::string_view user_path);

Result<CgroupMemory> ReadCgroupMemory(const MemoryCgroup& group);
// The processes in the group now (cgroup.procs).
Result<std::vector<pid_t>> CgroupProcs(const MemoryCgroup& group);
// Creates `name` below this process's own memory group, journaled.
Result<MemoryCgroup> CreateChildMemoryCgroup(const std::string& name);
// Moves `pid` into the group.
Result<void> MoveToCgroup(const MemoryCgroup& group, pid_t pid);
// Stops what runs in the group (SIGTERM, then SIGKILL after `grace`), removes
// it and settles its journal entry. Returns how many processes needed SIGKILL.
Result<int> RemoveMemoryCgroup(const MemoryCgroup& group, std::chrono::milliseconds grace);
// For the journal's undo: kills what runs in `dir` and removes it.
Result<void> KillAndRemoveCgroupDir(const std::string& dir, std::chrono::milliseconds grace);

}  // namespace tcpmax::sys

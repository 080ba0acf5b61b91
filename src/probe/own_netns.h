// OwnNetns: the probe's climb in a network namespace of its own, with an
// established hash sized for the target.
//
// The host's established hash has a fixed number of buckets
// (net.ipv4.tcp_ehash_entries, 262,144 here): at millions of sockets every
// lookup, and every candidate port of connect()'s port search, walks a chain
// of tens. A namespace created while net.ipv4.tcp_child_ehash_entries is set
// gets a hash of its own of that size. Enter() sets that sysctl (journaled,
// sys/sysctl.h), moves the calling process into a new namespace
// (unshare(CLONE_NEWNET)), puts the sysctl back at once, brings loopback up
// and copies the host's values of the per-namespace settings that shape a
// climb (port range, backlogs, buffers...) into it, so the climb meets the
// box's settings, only with a short hash.
//
// Nothing is left behind: the namespace has no name and ends with the last
// process in it (the probe and its shards); settings written inside it end
// with it, so they are not journaled. Needs CAP_SYS_ADMIN and a kernel with
// tcp_child_ehash_entries (6.1+); otherwise Enter() fails and the caller
// climbs in the host's namespace, saying why.
// Thread-safety: call before any thread or shard is started.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace tcpmax::probe {

// Per-namespace settings copied from the host into the probe's namespace.
inline constexpr const char* kMirroredSysctls[] = {
    "net.core.somaxconn",          "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",     "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",           "net.ipv4.tcp_fin_timeout",     "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_timestamps",      "net.ipv4.tcp_sack",
    "net.ipv4.tcp_window_scaling",
};

// Buckets for `sockets` established sockets: the next power of two, at
// least 64k, at most the kernel's 16M.
uint64_t EhashBucketsFor(uint64_t sockets);

struct OwnNetns {
  uint64_t buckets = 0;              // the namespace's established hash (tcp_ehash_entries inside)
  uint64_t host_buckets = 0;         // the host's
  std::vector<std::string> notes;    // what was copied or could not be
};

// Creates the namespace for `sockets` sockets and moves this process into it.
Result<OwnNetns> EnterOwnNetns(uint64_t sockets);

}  // namespace tcpmax::probe

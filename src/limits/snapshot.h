// Snapshot: every reading `limits` needs, each one possibly unknown.
//
// ReadSnapshot() asks a sys::Reader (the live box or a recorded directory)
// for everything at once and never fails: a reading that cannot be had is
// left empty and its reason kept in `unknown`, and the model computes the
// rest. ApplySetting() changes one reading to answer "what if" (`--set
// key=value`) without touching the system.
// Thread-safety: a Snapshot is a plain value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "sys/cgroup.h"
#include "sys/file_nr.h"
#include "sys/reader.h"
#include "sys/slabinfo.h"
#include "sys/sockstat.h"

namespace tcpmax::limits {

// A numeric sysctl the model reads; `arity` numbers in its value.
struct SysctlSpec {
  std::string_view name;
  size_t arity;
};
// Every numeric sysctl ReadSnapshot reads (ip_local_reserved_ports, a list
// of ranges, is read separately).
const std::vector<SysctlSpec>& KnownSysctls();

struct Snapshot {
  std::string source;  // "live" or "snapshot <dir>"
  std::map<std::string, std::vector<uint64_t>, std::less<>> sysctls;
  std::optional<std::string> reserved_ports;  // "" when none are reserved
  bool conntrack_loaded = false;              // /proc/sys/net/netfilter/nf_conntrack_max exists
  std::optional<sys::FileNr> file_nr;
  std::optional<sys::Rlimit> nofile;
  std::optional<sys::Rlimit> nproc;
  std::optional<uint64_t> capabilities;       // effective set
  std::optional<uint64_t> mem_total;          // bytes
  std::optional<uint64_t> mem_available;      // bytes
  std::optional<sys::CgroupLimits> cgroup;
  std::optional<sys::Slabinfo> slabinfo;
  std::optional<sys::Sockstat> sockstat;
  std::optional<std::vector<sys::LocalAddress>> addresses;
  std::optional<uint64_t> kernel_bytes_per_end;  // only from --set conn.kernel_bytes
  // Reading -> why it is unknown ("fs.nr_open" -> "open /proc/sys/fs/nr_open: ENOENT ...").
  std::map<std::string, std::string> unknown;

  // The index-th number of a sysctl, when it was read.
  std::optional<uint64_t> Sysctl(std::string_view name, size_t index = 0) const;
  // The capability bit, when the set is known.
  std::optional<bool> HasCapability(int cap) const;
};

Snapshot ReadSnapshot(const sys::Reader& reader);

// "net.ipv4.ip_local_port_range=1024 65535" -> {key, value}; fails without '='.
Result<std::pair<std::string, std::string>> ParseSetting(std::string_view text);
// Applies one `--set key=value`. Keys: any name of KnownSysctls() (units
// allowed for one-number values: "fs.file-max=10M"),
// net.ipv4.ip_local_reserved_ports, fs.file-nr (files in use), nofile (soft
// and hard), nofile.soft, nofile.hard, nproc, cap.sys_resource, cap.sys_admin
// (0/1), mem.available, mem.total (bytes: "8G"), cgroup.memory.max (bytes or
// "max"), cgroup.memory.current, cgroup.pids.max, slab.<cache> (object size,
// e.g. slab.TCP=2368), conn.kernel_bytes (kernel bytes per connection end).
// The error names the key and what was expected.
Result<void> ApplySetting(Snapshot& snapshot, std::string_view key, std::string_view value);
// The keys ApplySetting accepts besides sysctl names, for help texts.
std::string_view SettingKeysHelp();

}  // namespace tcpmax::limits

#include "limits/snapshot.h"

#include <fmt/format.h>

#include "core/address.h"
#include "limits/kernel_memory.h"
#include "core/units.h"
#include "sys/capabilities.h"
#include "sys/meminfo.h"
#include "sys/sysctl.h"

namespace tcpmax::limits {

const std::vector<SysctlSpec>& KnownSysctls() {
  static const std::vector<SysctlSpec> kSpecs = {
      {"fs.nr_open", 1},
      {"fs.file-max", 1},
      {"fs.epoll.max_user_watches", 1},
      {"net.ipv4.ip_local_port_range", 2},
      {"net.ipv4.tcp_tw_reuse", 1},
      {"net.ipv4.tcp_fin_timeout", 1},
      {"net.ipv4.tcp_max_tw_buckets", 1},
      {"net.ipv4.tcp_max_orphans", 1},
      {"net.ipv4.tcp_mem", 3},
      {"net.ipv4.tcp_rmem", 3},
      {"net.ipv4.tcp_wmem", 3},
      {"net.core.somaxconn", 1},
      {"net.ipv4.tcp_max_syn_backlog", 1},
      {"net.ipv4.tcp_syncookies", 1},
      {"net.ipv4.tcp_ehash_entries", 1},
      {"net.netfilter.nf_conntrack_max", 1},
      {"net.netfilter.nf_conntrack_count", 1},
      {"net.netfilter.nf_conntrack_buckets", 1},
      {"kernel.pid_max", 1},
      {"kernel.threads-max", 1},
  };
  return kSpecs;
}

std::optional<uint64_t> Snapshot::Sysctl(std::string_view name, size_t index) const {
  auto it = sysctls.find(name);
  if (it == sysctls.end() || index >= it->second.size()) return std::nullopt;
  return it->second[index];
}

std::optional<bool> Snapshot::HasCapability(int cap) const {
  if (!capabilities) return std::nullopt;
  return sys::HasCapability(*capabilities, cap);
}

namespace {

template <typename T>
std::optional<T> Keep(Result<T> r, Snapshot& s, const std::string& what) {
  if (r) return std::move(*r);
  s.unknown[what] = r.error().ToString();
  return std::nullopt;
}

void ReadSysctls(const sys::Reader& reader, Snapshot& s) {
  for (const SysctlSpec& spec : KnownSysctls()) {
    auto nums = sys::ReadSysctlNumbers(reader, spec.name);
    bool conntrack = spec.name.starts_with("net.netfilter.");
    if (nums) {
      s.sysctls[std::string(spec.name)] = *nums;
      if (conntrack) s.conntrack_loaded = true;
    } else if (!conntrack) {  // absent conntrack sysctls mean "not loaded", not unknown
      s.unknown[std::string(spec.name)] = nums.error().ToString();
    }
  }
  s.reserved_ports = Keep(sys::ReadSysctl(reader, "net.ipv4.ip_local_reserved_ports"), s,
                          "net.ipv4.ip_local_reserved_ports");
}

}  // namespace

Snapshot ReadSnapshot(const sys::Reader& reader) {
  Snapshot s;
  s.source = reader.Describe();
  ReadSysctls(reader, s);
  s.file_nr = Keep(sys::ReadFileNr(reader), s, "fs.file-nr");
  s.nofile = Keep(reader.GetRlimit(sys::RlimitKind::kNofile), s, "RLIMIT_NOFILE");
  s.nproc = Keep(reader.GetRlimit(sys::RlimitKind::kNproc), s, "RLIMIT_NPROC");
  s.capabilities = Keep(reader.EffectiveCapabilities(), s, "capabilities");
  if (auto mem = Keep(sys::ReadMeminfo(reader), s, "meminfo")) {
    s.mem_total = mem->mem_total();
    s.mem_available = mem->mem_available();
    if (!s.mem_available) s.unknown["MemAvailable"] = "/proc/meminfo has no MemAvailable line";
  }
  s.cgroup = Keep(sys::ReadCgroupLimits(reader), s, "cgroup");
  s.slabinfo = Keep(sys::ReadSlabinfo(reader), s, "slabinfo");
  s.sockstat = Keep(sys::ReadSockstat(reader), s, "sockstat");
  s.addresses = Keep(reader.LocalAddresses(), s, "addresses");
  return s;
}

Result<std::pair<std::string, std::string>> ParseSetting(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return PlainError(fmt::format("--set '{}': expected key=value, e.g. fs.file-max=10M", text));
  }
  return std::pair{std::string(sys::Trim(text.substr(0, eq))), std::string(sys::Trim(text.substr(eq + 1)))};
}

std::string_view SettingKeysHelp() {
  return "sysctl names (fs.file-max, net.ipv4.ip_local_port_range, ...), fs.file-nr, nofile, nofile.soft, "
         "nofile.hard, nproc, cap.sys_resource, cap.sys_admin, mem.available, mem.total, cgroup.memory.max, "
         "cgroup.memory.current, cgroup.pids.max, slab.<cache>, conn.kernel_bytes";
}

namespace {

tl::unexpected<Error> Bad(std::string_view key, std::string_view value, std::string_view expected) {
  return PlainError(fmt::format("--set {}={}: expected {}", key, value, expected));
}

// One count ("20000", "10k") or "unlimited"/"max" when `allow_unlimited`.
Result<uint64_t> Count(std::string_view key, std::string_view value, bool allow_unlimited = false) {
  if (allow_unlimited && (value == "unlimited" || value == "max" || value == "infinity")) return sys::kUnlimited;
  auto n = ParseCount(value);
  if (!n) return Bad(key, value, allow_unlimited ? "a count like 65536, 1M or 'unlimited'" : "a count like 65536 or 1M");
  return *n;
}

Result<uint64_t> Bytes(std::string_view key, std::string_view value) {
  auto n = ParseBytes(value);
  if (!n) return Bad(key, value, "a size like 8G, 512M or 4096");
  return *n;
}

Result<bool> Flag(std::string_view key, std::string_view value) {
  if (value == "1" || value == "yes" || value == "true") return true;
  if (value == "0" || value == "no" || value == "false") return false;
  return Bad(key, value, "0 or 1");
}

Result<void> ApplySysctl(Snapshot& s, const SysctlSpec& spec, std::string_view value) {
  std::vector<uint64_t> nums;
  if (spec.arity == 1) {
    auto n = Count(spec.name, value);
    if (!n) return tl::unexpected(n.error());
    nums.push_back(*n);
  } else {
    auto parsed = sys::ParseNumbers(value);
    if (!parsed || parsed->size() != spec.arity) {
      return Bad(spec.name, value, fmt::format("{} numbers separated by spaces", spec.arity));
    }
    nums = *parsed;
  }
  if (spec.name == "net.ipv4.ip_local_port_range" && (nums[0] > nums[1] || nums[1] > 65535 || nums[0] == 0)) {
    return Bad(spec.name, value, "'low high' with 1 <= low <= high <= 65535");
  }
  s.sysctls[std::string(spec.name)] = nums;
  s.unknown.erase(std::string(spec.name));
  if (spec.name.starts_with("net.netfilter.")) s.conntrack_loaded = true;
  return {};
}

Result<void> SetCap(Snapshot& s, int cap, std::string_view key, std::string_view value) {
  auto on = Flag(key, value);
  if (!on) return tl::unexpected(on.error());
  uint64_t mask = s.capabilities.value_or(0);
  mask = *on ? (mask | (uint64_t(1) << cap)) : (mask & ~(uint64_t(1) << cap));
  s.capabilities = mask;
  s.unknown.erase("capabilities");
  return {};
}

Result<void> SetRlimit(std::optional<sys::Rlimit>& rl, bool soft, bool hard, std::string_view key,
                       std::string_view value) {
  auto n = Count(key, value, true);
  if (!n) return tl::unexpected(n.error());
  sys::Rlimit v = rl.value_or(sys::Rlimit{*n, *n});
  if (soft) v.soft = *n;
  if (hard) v.hard = *n;
  if (v.soft > v.hard) return Bad(key, value, fmt::format("a soft limit no higher than the hard limit {}", v.hard));
  rl = v;
  return {};
}

Result<void> ApplyOther(Snapshot& s, std::string_view key, std::string_view value) {
  auto set_u64 = [&](std::optional<uint64_t>& field, Result<uint64_t> v) -> Result<void> {
    if (!v) return tl::unexpected(v.error());
    field = *v;
    return {};
  };
  if (key == "nofile" || key == "nofile.soft" || key == "nofile.hard") {
    s.unknown.erase("RLIMIT_NOFILE");
    return SetRlimit(s.nofile, key != "nofile.hard", key != "nofile.soft", key, value);
  }
  if (key == "nproc") {
    s.unknown.erase("RLIMIT_NPROC");
    return SetRlimit(s.nproc, true, true, key, value);
  }
  if (key == "cap.sys_resource") return SetCap(s, sys::kCapSysResource, key, value);
  if (key == "cap.sys_admin") return SetCap(s, sys::kCapSysAdmin, key, value);
  if (key == "mem.available") {
    s.unknown.erase("meminfo"), s.unknown.erase("MemAvailable");
    return set_u64(s.mem_available, Bytes(key, value));
  }
  if (key == "mem.total") return set_u64(s.mem_total, Bytes(key, value));
  if (key == "conn.kernel_bytes") return set_u64(s.kernel_bytes_per_end, Bytes(key, value));
  if (key == "fs.file-nr") {
    auto n = Count(key, value);
    if (!n) return tl::unexpected(n.error());
    sys::FileNr nr = s.file_nr.value_or(sys::FileNr{});
    nr.allocated = *n, nr.unused = 0;
    nr.max = s.Sysctl("fs.file-max").value_or(nr.max);
    s.file_nr = nr;
    s.unknown.erase("fs.file-nr");
    return {};
  }
  if (key.starts_with("cgroup.")) {
    sys::CgroupLimits cg = s.cgroup.value_or(sys::CgroupLimits{2, "/"});
    bool unlimited = value == "max";
    std::optional<uint64_t> v;
    if (!unlimited) {
      auto n = key == "cgroup.pids.max" ? Count(key, value) : Bytes(key, value);
      if (!n) return tl::unexpected(n.error());
      v = *n;
    }
    if (key == "cgroup.memory.max") cg.memory_max = v;
    else if (key == "cgroup.memory.current" && !unlimited) cg.memory_current = v;
    else if (key == "cgroup.pids.max") cg.pids_max = v;
    else return Bad(key, value, "a key among cgroup.memory.max, cgroup.memory.current, cgroup.pids.max");
    s.cgroup = cg;
    s.unknown.erase("cgroup");
    return {};
  }
  if (key.starts_with("slab.") && key.size() > 5) {
    // Only the caches the memory model adds up can take effect; any other
    // name would be accepted and silently ignored.
    std::string_view cache = key.substr(5);
    std::string known;
    bool used = false;
    for (const FallbackSize& f : kFallbackSlabSizes) {
      used |= std::string_view(f.cache) == cache;
      if (!known.empty()) known += ", ";
      known += f.cache;
    }
    if (!used) return Bad(key, value, "a cache the memory model uses (" + known + ")");
    auto n = Bytes(key, value);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return Bad(key, value, "a positive size in bytes per object");
    if (!s.slabinfo) s.slabinfo.emplace();
    sys::SlabCache& c = (*s.slabinfo)[std::string(cache)];
    // The size given is the whole footprint per object: drop the recorded
    // slab geometry, which SlabCache::footprint() would prefer over objsize.
    c.objsize = *n;
    c.objperslab = 0;
    c.pagesperslab = 0;
    s.unknown.erase("slabinfo");
    return {};
  }
  return PlainError(fmt::format("--set {}: unknown key (known: {})", key, SettingKeysHelp()));
}

}  // namespace

Result<void> ApplySetting(Snapshot& s, std::string_view key, std::string_view value) {
  if (value.empty()) return Bad(key, value, "a value after '='");
  for (const SysctlSpec& spec : KnownSysctls()) {
    if (spec.name == key) return ApplySysctl(s, spec, value);
  }
  if (key == "net.ipv4.ip_local_reserved_ports") {
    if (value != "none" && !ParsePortRanges(value)) return Bad(key, value, "port ranges like 8080,9000-9100 or 'none'");
    s.reserved_ports = value == "none" ? "" : std::string(value);
    s.unknown.erase(std::string(key));
    return {};
  }
  return ApplyOther(s, key, value);
}

}  // namespace tcpmax::limits

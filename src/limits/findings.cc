#include "limits/findings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/units.h"
#include "sys/capabilities.h"

namespace tcpmax::limits {

std::string CountOrUnknown(std::optional<uint64_t> v) {
  if (!v) return "unknown";
  return *v == sys::kUnlimited ? "unlimited" : FormatCount(*v);
}

namespace {

Reading Number(std::string name, uint64_t v) { return {std::move(name), Reading::Kind::kNumber, {v}}; }
Reading Limit(std::string name, uint64_t v) {
  if (v == sys::kUnlimited) return {std::move(name), Reading::Kind::kNoLimit, {}};
  return Number(std::move(name), v);
}
Reading List(std::string name, std::vector<uint64_t> v) { return {std::move(name), Reading::Kind::kList, std::move(v)}; }
Reading Flag(std::string name, bool v) { return {std::move(name), Reading::Kind::kFlag, {v ? 1u : 0u}}; }

Finding Unknown(std::string id, std::string limit, Scope scope, std::string why) {
  Finding f{std::move(id), std::move(limit), scope, "unknown", false};
  f.note = "reading unknown (" + why + "); left out of the ceiling";
  return f;
}

std::string WhyUnknown(const Snapshot& s, const std::string& key) {
  auto it = s.unknown.find(key);
  return it == s.unknown.end() ? "not read" : it->second;
}

uint64_t Sub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

Finding NofileSoft(const Context& c, uint64_t overhead) {
  const auto& rl = c.s.nofile;
  if (!rl) return Unknown("rlimit_nofile_soft", "RLIMIT_NOFILE (soft)", Scope::kProcess, WhyUnknown(c.s, "RLIMIT_NOFILE"));
  Finding f{"rlimit_nofile_soft", "RLIMIT_NOFILE (soft)", Scope::kProcess, CountOrUnknown(rl->soft)};
  f.readings = {Limit("soft", rl->soft)};
  if (rl->soft >= rl->hard || rl->soft == sys::kUnlimited) {
    f.note = "equal to the hard limit: the hard limit is the bound";
    return f;
  }
  f.allows = Sub(rl->soft, overhead);
  f.arithmetic = fmt::format("{} - {} fds the program keeps (stdio, listeners, epoll) = {}", FormatCount(rl->soft),
                             overhead, FormatCount(*f.allows));
  f.note = fmt::format("any process may raise its soft limit up to the hard limit {}", CountOrUnknown(rl->hard));
  return f;
}

Finding NofileHard(const Context& c, uint64_t overhead) {
  const auto& rl = c.s.nofile;
  if (!rl) return Unknown("rlimit_nofile_hard", "RLIMIT_NOFILE (hard)", Scope::kProcess, WhyUnknown(c.s, "RLIMIT_NOFILE"));
  Finding f{"rlimit_nofile_hard", "RLIMIT_NOFILE (hard)", Scope::kProcess, CountOrUnknown(rl->hard)};
  f.readings = {Limit("hard", rl->hard)};
  if (rl->hard == sys::kUnlimited) {
    f.note = "unlimited: fs.nr_open is the bound";
    return f;
  }
  f.allows = Sub(rl->hard, overhead);
  f.arithmetic = fmt::format("{} - {} fds the program keeps = {}", FormatCount(rl->hard), overhead,
                             FormatCount(*f.allows));
  auto can = c.s.HasCapability(sys::kCapSysResource);
  if (!can) f.note = "raisable only with CAP_SYS_RESOURCE (capabilities unknown)";
  else if (*can) f.note = "raisable up to fs.nr_open: this process has CAP_SYS_RESOURCE";
  else f.note = "not raisable here: this process lacks CAP_SYS_RESOURCE";
  return f;
}

Finding NrOpen(const Context& c, uint64_t overhead) {
  auto v = c.s.Sysctl("fs.nr_open");
  if (!v) return Unknown("fs.nr_open", "fs.nr_open", Scope::kProcess, WhyUnknown(c.s, "fs.nr_open"));
  Finding f{"fs.nr_open", "fs.nr_open", Scope::kProcess, FormatCount(*v)};
  f.readings = {Number("value", *v)};
  if (c.s.HasCapability(sys::kCapSysResource) == false) {
    f.note = "the most a hard RLIMIT_NOFILE can be; out of reach here (no CAP_SYS_RESOURCE)";
    return f;
  }
  f.allows = Sub(*v, overhead);
  f.arithmetic = fmt::format("{} - {} = {}", FormatCount(*v), overhead, FormatCount(*f.allows));
  f.note = "the most any hard RLIMIT_NOFILE can be set to";
  return f;
}

}  // namespace

std::vector<Finding> ProcessFindings(const Context& c, uint64_t overhead_fds) {
  return {NofileSoft(c, overhead_fds), NofileHard(c, overhead_fds), NrOpen(c, overhead_fds)};
}

namespace {

Finding FileMax(const Context& c) {
  auto max = c.s.Sysctl("fs.file-max");
  if (!max) return Unknown("fs.file-max", "fs.file-max", Scope::kBox, WhyUnknown(c.s, "fs.file-max"));
  uint64_t in_use = c.s.file_nr ? c.s.file_nr->in_use() : 0;
  Finding f{"fs.file-max", "fs.file-max", Scope::kBox,
            fmt::format("{} ({} in use)", FormatCount(*max), c.s.file_nr ? FormatCount(in_use) : "unknown")};
  f.readings = {Number("value", *max)};
  if (c.s.file_nr) f.readings.push_back(Number("in_use", in_use));
  uint64_t allows = Sub(*max, in_use) / c.ends;
  std::string math = fmt::format("({} - {} in use) / {} file{} per connection = {}", FormatCount(*max),
                                 FormatCount(in_use), c.ends, c.ends > 1 ? "s" : "", FormatCount(allows));
  if (c.s.HasCapability(sys::kCapSysAdmin) == true) {
    f.note = "passed: this process holds CAP_SYS_ADMIN, and the kernel lets it open files past fs.file-max; "
             "a server without it stops at " + FormatCount(allows);
    f.arithmetic = math;
    f.allows_unprivileged = allows;
    return f;
  }
  f.allows = allows;
  f.arithmetic = math;
  f.note = "whole box: every open file of every process";
  return f;
}

Finding Memory(const Context& c) {
  if (!c.s.mem_available) return Unknown("memory", "MemAvailable", Scope::kBox, WhyUnknown(c.s, "meminfo"));
  Finding f{"memory", "MemAvailable", Scope::kBox, FormatBytes(double(*c.s.mem_available))};
  f.readings = {Number("mem_available_bytes", *c.s.mem_available)};
  f.allows = *c.s.mem_available / c.bytes_per_connection;
  f.arithmetic = fmt::format("{} B / {} B per connection = {}", FormatCount(*c.s.mem_available),
                             FormatCount(c.bytes_per_connection), FormatCount(*f.allows));
  f.note = "kernel slab objects of every connection held (see 'memory per connection end')";
  return f;
}

Finding CgroupMemory(const Context& c) {
  if (!c.s.cgroup) return Unknown("cgroup_memory", "cgroup memory limit", Scope::kBox, WhyUnknown(c.s, "cgroup"));
  const auto& cg = *c.s.cgroup;
  std::string file = cg.version == 1 ? "memory.limit_in_bytes" : "memory.max";
  Finding f{"cgroup_memory", "cgroup " + file, Scope::kBox, "max"};
  f.readings = {Limit("max_bytes", cg.memory_max.value_or(sys::kUnlimited))};
  if (cg.memory_current) f.readings.push_back(Number("current_bytes", *cg.memory_current));
  if (!cg.memory_max) {
    f.note = fmt::format("no memory limit on cgroup v{} {}", cg.version, cg.path);
    return f;
  }
  uint64_t used = cg.memory_current.value_or(0);
  f.observed = fmt::format("{} ({} used)", FormatBytes(double(*cg.memory_max)),
                           cg.memory_current ? FormatBytes(double(used)) : "unknown");
  f.allows = Sub(*cg.memory_max, used) / c.bytes_per_connection;
  f.arithmetic = fmt::format("({} - {} used) B / {} B per connection = {}", FormatCount(*cg.memory_max),
                             FormatCount(used), FormatCount(c.bytes_per_connection), FormatCount(*f.allows));
  f.note = fmt::format("socket slab memory is charged to cgroup v{} {}", cg.version, cg.path);
  return f;
}

Finding EpollWatches(const Context& c) {
  auto v = c.s.Sysctl("fs.epoll.max_user_watches");
  if (!v) return Unknown("fs.epoll.max_user_watches", "fs.epoll.max_user_watches", Scope::kUser,
                         WhyUnknown(c.s, "fs.epoll.max_user_watches"));
  Finding f{"fs.epoll.max_user_watches", "fs.epoll.max_user_watches", Scope::kUser, FormatCount(*v)};
  f.readings = {Number("value", *v)};
  f.allows = *v / c.ends;
  f.arithmetic = fmt::format("{} watches / {} per connection = {}", FormatCount(*v), c.ends, FormatCount(*f.allows));
  f.note = "per user, shared by all its processes (ENOSPC from epoll_ctl past it); an io_uring server "
           "(--no-epoll) has no such limit";
  return f;
}

Finding Conntrack(const Context& c) {
  Finding f{"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_max", Scope::kBox, "not loaded"};
  f.readings = {Flag("loaded", c.s.conntrack_loaded)};
  if (!c.s.conntrack_loaded) {
    f.note = "nf_conntrack is not loaded: no connection-tracking table to fill";
    return f;
  }
  auto max = c.s.Sysctl("net.netfilter.nf_conntrack_max");
  auto count = c.s.Sysctl("net.netfilter.nf_conntrack_count");
  auto buckets = c.s.Sysctl("net.netfilter.nf_conntrack_buckets");
  if (!max) return Unknown(f.id, f.limit, Scope::kBox, "nf_conntrack_max unreadable");
  f.observed = fmt::format("{} ({} tracked, {} buckets)", FormatCount(*max), CountOrUnknown(count),
                           CountOrUnknown(buckets));
  f.readings.push_back(Number("max", *max));
  if (count) f.readings.push_back(Number("count", *count));
  if (buckets) f.readings.push_back(Number("buckets", *buckets));
  if (count && *count == 0) {
    f.note = fmt::format("loaded but tracking nothing (count 0): no rule uses it in this namespace; "
                         "if one starts tracking TCP it caps at {}", FormatCount(*max));
    return f;
  }
  f.allows = Sub(*max, count.value_or(0));
  f.arithmetic = fmt::format("{} - {} tracked = {} (one entry per connection)", FormatCount(*max),
                             CountOrUnknown(count), FormatCount(*f.allows));
  f.note = "past it new connections are dropped ('nf_conntrack: table full, dropping packet')";
  return f;
}

Finding TcpMem(const Context& c) {
  auto high = c.s.Sysctl("net.ipv4.tcp_mem", 2);
  if (!high) return Unknown("net.ipv4.tcp_mem", "net.ipv4.tcp_mem", Scope::kBox, WhyUnknown(c.s, "net.ipv4.tcp_mem"));
  uint64_t bytes = *high * 4096;
  Finding f{"net.ipv4.tcp_mem", "net.ipv4.tcp_mem (max)", Scope::kBox,
            fmt::format("{} pages = {}", FormatCount(*high), FormatBytes(double(bytes)))};
  f.readings = {Number("max_pages", *high), Number("max_bytes", bytes)};
  uint64_t queued = c.sc.queued_bytes;
  if (queued == 0) {
    f.note = fmt::format("idle connections queue no data, and buffers are charged only while data waits; "
                         "at 4 KiB queued per connection it would allow {} (--queued-bytes)",
                         FormatCount(bytes / 4096 / c.ends));
    return f;
  }
  uint64_t per = ((queued + 4095) / 4096) * 4096 * c.ends;  // charged in whole pages
  f.allows = bytes / per;
  f.arithmetic = fmt::format("{} B / {} B queued per connection = {}", FormatCount(bytes), FormatCount(per),
                             FormatCount(*f.allows));
  f.note = "past tcp_mem[2] sockets cannot grow buffers (\"out of memory -- consider tuning tcp_mem\")";
  return f;
}

}  // namespace

std::vector<Finding> BoxFindings(const Context& c) {
  std::vector<Finding> rows = {FileMax(c), Memory(c), CgroupMemory(c)};
  if (c.sc.epoll) rows.push_back(EpollWatches(c));
  rows.push_back(Conntrack(c));
  rows.push_back(TcpMem(c));
  return rows;
}

std::vector<Finding> ThreadFindings(const Context& c) {
  std::vector<Finding> rows;
  auto add = [&](const char* id, const char* limit, const char* reading, std::optional<uint64_t> v,
                 const std::string& why, const char* note) {
    if (!v) {
      rows.push_back(Unknown(id, limit, Scope::kThreads, why));
      return;
    }
    Finding f{id, limit, Scope::kThreads, CountOrUnknown(*v)};
    f.readings = {Limit(reading, *v)};
    if (*v != sys::kUnlimited) f.allows = *v;
    f.note = note;
    rows.push_back(f);
  };
  add("kernel.pid_max", "kernel.pid_max", "value", c.s.Sysctl("kernel.pid_max"), WhyUnknown(c.s, "kernel.pid_max"),
      "every thread takes a pid");
  add("kernel.threads-max", "kernel.threads-max", "value", c.s.Sysctl("kernel.threads-max"),
      WhyUnknown(c.s, "kernel.threads-max"), "threads on the whole box");
  add("rlimit_nproc", "RLIMIT_NPROC (soft)", "soft", c.s.nproc ? std::optional(c.s.nproc->soft) : std::nullopt,
      WhyUnknown(c.s, "RLIMIT_NPROC"), "threads of this user (EAGAIN from pthread_create)");
  std::optional<uint64_t> pids;
  if (c.s.cgroup) pids = c.s.cgroup->pids_max.value_or(sys::kUnlimited);
  add("cgroup_pids", "cgroup pids.max", "max", pids, WhyUnknown(c.s, "cgroup"), "tasks in this cgroup");
  return rows;
}

Finding InboundTupleFinding(const Context& c) {
  uint64_t listeners = SatMul(c.sc.listen_ports, c.sc.listen_ips);
  Finding f{"tuple_inbound", "4-tuples per listening ip:port", Scope::kTuple,
            fmt::format("{} listening ip:port", FormatCount(listeners))};
  f.readings = {Number("listening_endpoints", listeners)};
  if (c.sc.loopback) {
    if (c.ephemeral_ports == 0 || c.loopback_sources == 0) {
      return Unknown(f.id, f.limit, Scope::kTuple, "port range or loopback addresses unknown");
    }
    f.allows = SatMul(SatMul(listeners, c.loopback_sources), c.ephemeral_ports);
    f.arithmetic = fmt::format("{} listeners x {} loopback sources x {} ports = {}", FormatCount(listeners),
                               FormatCount(c.loopback_sources), FormatCount(c.ephemeral_ports), FormatCount(*f.allows));
    f.note = "clients on this box: one connection per (source ip, source port) per listener";
    return f;
  }
  f.note = "remote clients: one connection per (client ip, client port) per listener, 2^48 (IPv4) or "
           "2^144 (IPv6) each: never binds a server";
  return f;
}

std::vector<Finding> OutboundTupleFindings(const Context& c) {
  std::vector<Finding> rows;
  auto lo = c.s.Sysctl("net.ipv4.ip_local_port_range", 0), hi = c.s.Sysctl("net.ipv4.ip_local_port_range", 1);
  if (!lo || !hi || c.ephemeral_ports == 0) {
    rows.push_back(Unknown("net.ipv4.ip_local_port_range", "ephemeral ports", Scope::kTuple,
                           WhyUnknown(c.s, "net.ipv4.ip_local_port_range")));
  } else {
    uint64_t s = c.sc.source_ips, d = c.sc.destinations, p = c.ephemeral_ports;
    Finding f{"net.ipv4.ip_local_port_range", "ephemeral ports", Scope::kTuple,
              fmt::format("{}-{} ({} ports, {} reserved)", *lo, *hi, FormatCount(p), FormatCount(c.reserved_in_range))};
    f.readings = {List("range", {*lo, *hi}), Number("ports", p), Number("reserved", c.reserved_in_range)};
    bool per_destination = c.sc.bind_no_port || s == 1;
    if (per_destination) {
      f.allows = SatMul(SatMul(p, s), d);
      f.arithmetic = fmt::format("{} ports x {} source ip x {} destination ip:port = {}", FormatCount(p),
                                 FormatCount(s), FormatCount(d), FormatCount(*f.allows));
      f.note = s == 1 ? "connect() picks a port per destination: ports repeat across destinations"
                      : "IP_BIND_ADDRESS_NO_PORT: the port is picked at connect(), per destination";
    } else {
      f.allows = SatMul(p, s);
      f.arithmetic = fmt::format("{} ports x {} source ips = {} (bind() before connect() takes a port for "
                                 "every destination)", FormatCount(p), FormatCount(s), FormatCount(*f.allows));
      f.note = "without IP_BIND_ADDRESS_NO_PORT, bind(ip, 0) reserves the port before the destination is known";
    }
    rows.push_back(f);
  }
  if (c.sc.nat) {
    const NatProfile& n = *c.sc.nat;
    uint64_t per_dest = NatPerDestination(n, c.sc.nat_ips, c.sc.nat_vm_ports);
    Finding f{"nat_" + std::string(n.name), std::string(n.product), Scope::kNat,
              fmt::format("{} ports per NAT IP per destination, {} NAT IP(s)", FormatCount(n.ports_per_ip),
                          c.sc.nat_ips)};
    f.readings = {Number("ports_per_ip", n.ports_per_ip), Number("nat_ips", c.sc.nat_ips)};
    f.allows = SatMul(per_dest, c.sc.destinations);
    f.arithmetic = fmt::format("{} per destination x {} destinations = {}", FormatCount(per_dest),
                               FormatCount(c.sc.destinations), FormatCount(*f.allows));
    f.note = fmt::format("published cap ({})", n.source);
    if (n.default_vm_ports != 0 && c.sc.nat_vm_ports == 0) {
      f.note += fmt::format("; a VM gets min_ports_per_vm = {} ports by default", n.default_vm_ports);
    }
    rows.push_back(f);
  }
  return rows;
}

std::vector<Finding> InformationalFindings(const Context& c) {
  std::vector<Finding> rows;
  // `units` names the numbers of the sysctl in order ({"min_bytes",
  // "default_bytes", "max_bytes"}); a sysctl with another count of numbers
  // becomes one list "value".
  auto info = [&](const char* name, std::string note, std::vector<std::string> units = {"value"}) {
    auto it = c.s.sysctls.find(std::string_view(name));
    Finding f{name, name, Scope::kInfo, "unknown", it != c.s.sysctls.end()};
    if (it != c.s.sysctls.end()) {
      f.observed = fmt::format("{}", fmt::join(it->second, " "));
      if (it->second.size() != units.size()) {
        f.readings = {List("value", it->second)};
      } else {
        for (size_t k = 0; k < units.size(); ++k) f.readings.push_back(Number(units[k], it->second[k]));
      }
    }
    f.note = std::move(note);
    rows.push_back(f);
  };
  auto somax = c.s.Sysctl("net.core.somaxconn");
  info("net.core.somaxconn", fmt::format("listen() backlog is clamped to it: a burst of more than {} unaccepted "
                                         "connections per listener overflows the accept queue",
                                         CountOrUnknown(somax)));
  info("net.ipv4.tcp_max_syn_backlog", "half-open connections (SYN_RECV) per listener before SYN cookies or drops");
  info("net.ipv4.tcp_syncookies", "1: past the SYN queue, answer with cookies instead of dropping");
  info("net.ipv4.tcp_ehash_entries", "established-hash buckets: more connections than buckets lengthen lookups; "
                                     "not a cap");
  info("net.ipv4.tcp_max_orphans", "closed-but-unfinished sockets; past it they are reset: matters at teardown");
  info("net.ipv4.tcp_fin_timeout", "FIN_WAIT_2 timeout in seconds; NOT the TIME_WAIT length (fixed at 60 s)",
       {"seconds"});
  const std::vector<std::string> buffer = {"min_bytes", "default_bytes", "max_bytes"};
  info("net.ipv4.tcp_rmem", "receive buffer min/default/max per socket: memory only while data waits", buffer);
  info("net.ipv4.tcp_wmem", "send buffer min/default/max per socket: memory only while data waits", buffer);
  return rows;
}

}  // namespace tcpmax::limits

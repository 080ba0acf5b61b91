#include "limits/remedies.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/units.h"
#include "sys/capabilities.h"

namespace tcpmax::limits {
namespace {

uint64_t CeilDiv(uint64_t a, uint64_t b) { return b == 0 ? 0 : (a + b - 1) / b; }

// The smallest bound among the non-process rows other than `self`.
std::optional<uint64_t> NextOutside(const Context& c, const Direction& d, const Finding& self) {
  std::optional<uint64_t> best;
  for (const Finding& f : d.findings) {
    if (&f == &self || !f.allows || f.scope == Scope::kProcess || f.scope == Scope::kInfo) continue;
    if (f.scope == Scope::kThreads && !c.sc.thread_per_connection) continue;
    if (!best || *f.allows < *best) best = f.allows;
  }
  return best;
}

void NofileRemedies(const Context& c, const Direction& d, Finding& f, uint64_t overhead) {
  uint64_t box = NextOutside(c, d, f).value_or(1048576);
  uint64_t nr_open = c.s.Sysctl("fs.nr_open").value_or(1048576);
  bool hard_raisable = c.s.HasCapability(sys::kCapSysResource).value_or(true);
  uint64_t hard = c.s.nofile ? c.s.nofile->hard : 0;
  if (f.id == "rlimit_nofile_soft") {
    uint64_t want = std::min(hard, box + overhead);
    f.remedies = {fmt::format("ulimit -n {}", want), fmt::format("LimitNOFILE={} (systemd unit, [Service])", want),
                  "setrlimit(RLIMIT_NOFILE) soft = hard at start-up (tcpmax serve and load do this)"};
    return;
  }
  if (f.id == "fs.nr_open") {
    uint64_t want = box + overhead;
    if (want > nr_open) f.remedies = {fmt::format("sysctl -w fs.nr_open={}", want)};
    return;
  }
  // The hard limit.
  if (hard_raisable) {
    uint64_t want = std::min(nr_open, box + overhead);
    f.remedies = {fmt::format("ulimit -Hn {0} && ulimit -n {0} (as root)", want),
                  fmt::format("LimitNOFILE={} (systemd unit, [Service])", want),
                  fmt::format("'* hard nofile {0}' and '* soft nofile {0}' in /etc/security/limits.conf", want)};
    if (box + overhead > nr_open) f.remedies.push_back(fmt::format("sysctl -w fs.nr_open={}", box + overhead));
  }
  uint64_t per = f.allows.value_or(1);
  uint64_t ring_slots = std::min<uint64_t>(c.s.nofile ? c.s.nofile->soft : per, 1u << 20);
  uint64_t rings = CeilDiv(box, std::max<uint64_t>(ring_slots, 1));
  uint64_t procs = CeilDiv(box, std::max<uint64_t>(per, 1));
  bool inbound = d.name == "inbound";
  f.remedies.push_back(fmt::format(
      "io_uring direct descriptors: {} into a registered file table; each ring holds up to RLIMIT_NOFILE = {} "
      "sockets with no fd-table slot, so {} ring(s) reach the next limit, {}",
      inbound ? "accept (io_uring_prep_multishot_accept_direct)" : "create sockets (io_uring_prep_socket_direct)",
      FormatCount(ring_slots), FormatCount(rings), FormatCount(box)));
  f.remedies.push_back(fmt::format("more processes: {} processes of {} each{} reach the next limit, {}",
                                   FormatCount(procs), FormatCount(per),
                                   inbound ? " (SO_REUSEPORT on the listener)" : "", FormatCount(box)));
}

void BoxRemedies(const Context& c, const Direction& d, Finding& f) {
  uint64_t target = NextOutside(c, d, f).value_or(f.allows.value_or(0) * 2);
  uint64_t ends = c.ends;
  if (f.id == "fs.file-max") {
    uint64_t in_use = c.s.file_nr ? c.s.file_nr->in_use() : 0;
    uint64_t want = target * ends + in_use + 65536;
    f.remedies = {fmt::format("sysctl -w fs.file-max={}", want),
                  fmt::format("echo 'fs.file-max = {}' > /etc/sysctl.d/90-tcpmax.conf", want)};
  } else if (f.id == "memory") {
    f.remedies = {"add memory: each GiB holds " + FormatCount((uint64_t(1) << 30) / c.bytes_per_connection) +
                      " more connections",
                  fmt::format("or keep no kernel socket per connection: a user-space TCP stack (tcpmax userland) "
                              "keeps ~{} B each", c.sc.userland_bytes)};
  } else if (f.id == "cgroup_memory" && c.s.cgroup) {
    uint64_t want = SatMul(target, c.bytes_per_connection) + c.s.cgroup->memory_current.value_or(0);
    const auto& cg = *c.s.cgroup;
    if (cg.version == 2) {
      f.remedies = {fmt::format("echo {} > /sys/fs/cgroup{}/memory.max", want, cg.path == "/" ? "" : cg.path)};
    } else {
      f.remedies = {fmt::format("echo {} > /sys/fs/cgroup/memory{}/memory.limit_in_bytes", want, cg.path)};
    }
    f.remedies.push_back(fmt::format("MemoryMax={} (systemd), docker run --memory {}, or resources.limits.memory "
                                     "(Kubernetes)", want, want));
  } else if (f.id == "fs.epoll.max_user_watches") {
    f.remedies = {fmt::format("sysctl -w fs.epoll.max_user_watches={}", target * ends + 65536)};
  } else if (f.id == "net.netfilter.nf_conntrack_max") {
    uint64_t want = target + c.s.Sysctl("net.netfilter.nf_conntrack_count").value_or(0) + 65536;
    f.remedies = {fmt::format("sysctl -w net.netfilter.nf_conntrack_max={}", want),
                  "or do not track it: iptables -t raw -I PREROUTING -p tcp --dport PORT -j CT --notrack "
                  "(and the same in OUTPUT for the client side)"};
  } else if (f.id == "net.ipv4.tcp_mem" && f.allows) {
    uint64_t pages = CeilDiv(SatMul(target, ((c.sc.queued_bytes + 4095) / 4096) * ends), 1);
    f.remedies = {fmt::format("sysctl -w net.ipv4.tcp_mem='{} {} {}'", pages / 2, pages * 3 / 4, pages),
                  "or keep less data queued per connection"};
  }
}

void TupleRemedies(const Context& c, Finding& f) {
  if (f.id == "net.ipv4.ip_local_port_range") {
    f.remedies = {"sysctl -w net.ipv4.ip_local_port_range='1024 65535'",
                  "more source addresses: on loopback any 127.x.y.z works; elsewhere ip addr add ADDR/32 dev DEV",
                  "more destination ip:port pairs (the server listening on several ports)"};
    if (!c.sc.bind_no_port && c.sc.source_ips > 1) {
      f.remedies.insert(f.remedies.begin(), "setsockopt(IP_BIND_ADDRESS_NO_PORT, 1) before bind(): ports then repeat "
                                            "across destinations (tcpmax load does)");
    }
  } else if (f.id.starts_with("nat_") && c.sc.nat) {
    f.remedies = {std::string(c.sc.nat->remedy)};
  } else if (f.id == "tuple_inbound") {
    f.remedies = {"listen on more ports or addresses", "use more client source addresses"};
  }
}

void ThreadRemedies(Finding& f, uint64_t target) {
  uint64_t want = target + 4096;
  if (f.id == "kernel.pid_max") f.remedies = {fmt::format("sysctl -w kernel.pid_max={}", std::min<uint64_t>(want, 4194304))};
  else if (f.id == "kernel.threads-max") f.remedies = {fmt::format("sysctl -w kernel.threads-max={}", want)};
  else if (f.id == "rlimit_nproc") f.remedies = {fmt::format("ulimit -u {}", want), fmt::format("LimitNPROC={}", want)};
  else if (f.id == "cgroup_pids") f.remedies = {fmt::format("TasksMax={} (systemd) or pids.max", want)};
  f.remedies.push_back("or serve many connections per thread (epoll or io_uring)");
}

}  // namespace

void AddRemedies(const Context& c, Direction& d, uint64_t overhead_fds) {
  for (Finding& f : d.findings) {
    if (!f.known) continue;
    switch (f.scope) {
      case Scope::kProcess:
        if (f.allows || f.id == "rlimit_nofile_hard") NofileRemedies(c, d, f, overhead_fds);
        break;
      case Scope::kUser:
      case Scope::kBox:
        BoxRemedies(c, d, f);
        break;
      case Scope::kTuple:
      case Scope::kNat:
        TupleRemedies(c, f);
        break;
      case Scope::kThreads:
        ThreadRemedies(f, NextOutside(c, d, f).value_or(f.allows.value_or(0) * 2));
        break;
      case Scope::kInfo:
        break;
    }
  }
}

}  // namespace tcpmax::limits

#include "probe/server_verdict.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/units.h"
#include "limits/errno_class.h"
#include "sys/process_facts.h"

namespace tcpmax::probe {
namespace {

uint64_t Number(const std::map<std::string, std::string>& m, const std::string& key, uint64_t fallback) {
  auto it = m.find(key);
  if (it == m.end()) return fallback;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() ? v : fallback;
}

std::string Count(uint64_t n) { return FormatCount(n); }
std::string FormatSeconds(double s) {
  if (s < 1e-6) return "no time (the close came with the handshake's answer)";
  return FormatDuration(std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9)));
}

// Processes that accepted connections: their descriptors grew.
std::vector<const ServerProcess*> Accepting(const ServerReport& r) {
  std::vector<const ServerProcess*> out;
  for (const ServerProcess& p : r.processes) {
    if (p.fds_peak > p.fds_start) out.push_back(&p);
  }
  return out;
}

int Workers(const ServerReport& r) {
  int n = 0;
  for (const ServerProcess& p : r.processes) n += p.cmdline.find("worker process") != std::string::npos;
  return n;
}

void AddQueueEvidence(const ServerReport& r, ServerFinding& f) {
  if (r.queued > 0) {
    f.evidence.push_back(fmt::format("{} connections established for the client wait in the listen queue, not accepted",
                                     Count(r.queued)));
  }
  auto ov = r.counters.find("TcpExt.ListenOverflows");
  if (ov != r.counters.end() && ov->second > 0) {
    f.evidence.push_back(fmt::format("TcpExt.ListenOverflows +{} during the climb (handshakes dropped: queue full)",
                                     Count(ov->second)));
  }
  if (r.closed_by_server > 0 && (r.accepted_peak - std::min(r.accepted_peak, r.held)) * 2 < r.closed_by_server) {
    f.evidence.push_back(fmt::format("{} connections the server never accepted were closed {} after the client's "
                                     "handshake: their final ACK was dropped while the queue was full",
                                     Count(r.closed_by_server), FormatSeconds(r.closed_after_p50)));
  }
  if (r.client_only > 0) {
    f.evidence.push_back(fmt::format("{} connections are established for the client only: completed with SYN cookies "
                                     "while the queue was full, the server has no socket for them",
                                     Count(r.client_only)));
  }
}

bool Overflowed(const ServerReport& r) {
  auto ov = r.counters.find("TcpExt.ListenOverflows");
  return (ov != r.counters.end() && ov->second > 0) || r.client_only > 0;
}

bool QueueFull(const ServerReport& r) {
  return !r.samples.empty() && r.samples.back().backlog > 0 && r.queued >= r.samples.back().backlog;
}

std::optional<ServerFinding> FdLimit(const ServerReport& r) {
  ServerFinding f{"rlimit_nofile_soft", "the server's RLIMIT_NOFILE (soft)", 0, {}, ""};
  bool at_limit = false;
  for (const ServerProcess* p : Accepting(r)) {
    if (p->nofile_soft == sys::kUnlimited) continue;
    f.ceiling += p->nofile_soft > p->fds_start ? p->nofile_soft - p->fds_start : 0;
    if (p->fds_peak + 2 >= p->nofile_soft) {
      at_limit = true;
      f.evidence.push_back(fmt::format("{} (pid {}): {} of {} descriptors open ({} before the climb)", p->comm, p->pid,
                                       Count(p->fds_peak), Count(p->nofile_soft), Count(p->fds_start)));
    }
  }
  if (!at_limit) return std::nullopt;
  AddQueueEvidence(r, f);
  if (r.kind.name == "nginx") {
    std::string conf = r.kind.config.empty() ? "nginx.conf" : r.kind.config;
    auto it = r.kind.settings.find("worker_rlimit_nofile");
    f.remedy = it != r.kind.settings.end()
                   ? fmt::format("raise worker_rlimit_nofile in {} (now {}), keeping it above worker_connections", conf, it->second)
                   : fmt::format("set worker_rlimit_nofile in {} above worker_connections (the workers inherit {} from the master)",
                                 conf, Count(r.processes.empty() ? 0 : r.processes.front().nofile_soft));
  } else if (r.kind.name == "systemd unit") {
    f.remedy = fmt::format("raise LimitNOFILE= in {} (systemctl edit {}), then restart it", r.kind.settings.at("unit"),
                           r.kind.settings.at("unit"));
  } else {
    f.remedy = "raise the server's open-file limit where it starts (ulimit -n, prlimit --nofile=N:N, "
               "LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf)";
  }
  return f;
}

std::optional<ServerFinding> ConnectionCap(const ServerReport& r) {
  uint64_t opened = r.samples.empty() ? 0 : r.samples.back().opened;
  // At least a tenth of the closes come within a second of the handshake
  // (the rest may be handshakes a full queue dropped, closed much later).
  bool quick = r.closed_by_server >= 10 && r.closed_by_server * 100 >= opened && r.closed_after_p10 < 1.0;
  // nginx: its workers filled to 90% of worker_connections (it keeps some
  // slots free by closing idle connections), whenever it closed the rest.
  bool nginx_full = false;
  if (r.kind.name == "nginx" && r.closed_by_server > 0) {
    uint64_t wc = Number(r.kind.settings, "worker_connections", 512);
    for (const ServerProcess& p : r.processes) {
      if (p.cmdline.find("worker process") == std::string::npos) continue;
      nginx_full = nginx_full || (p.fds_peak > p.fds_start && (p.fds_peak - p.fds_start) * 10 >= wc * 9);
    }
  }
  if (!quick && !nginx_full) return std::nullopt;
  ServerFinding f{"server.connection_cap", "the server's own connection cap", r.accepted_peak, {}, ""};
  if (quick) {
    f.evidence.push_back(fmt::format("the server closed {} connections, {} of them within {} of the handshake",
                                     Count(r.closed_by_server), r.closed_after_p50 < 1.0 ? "half" : "a tenth",
                                     FormatSeconds(r.closed_after_p50 < 1.0 ? r.closed_after_p50 : r.closed_after_p10)));
  }
  f.evidence.push_back(fmt::format("accepted reached a plateau at {} with its descriptors below their limit",
                                   Count(r.accepted_peak)));
  if (r.kind.name == "nginx") {
    std::string conf = r.kind.config.empty() ? "nginx.conf" : r.kind.config;
    uint64_t wc = Number(r.kind.settings, "worker_connections", 512);
    int workers = std::max(1, Workers(r));
    f.ceiling = wc * static_cast<uint64_t>(workers);
    f.evidence.push_back(fmt::format("nginx: worker_connections {} x {} worker processes = {} slots, its listening "
                                     "sockets and channels included",
                                     Count(wc), workers, Count(f.ceiling)));
    uint64_t most = 0, least = UINT64_MAX;
    for (const ServerProcess& p : r.processes) {
      if (p.cmdline.find("worker process") == std::string::npos) continue;
      uint64_t held = p.fds_peak > p.fds_start ? p.fds_peak - p.fds_start : 0;
      most = std::max(most, held), least = std::min(least, held);
    }
    if (most > 0) {
      f.evidence.push_back(fmt::format("its workers held {} to {} connections each ({:.0f}% of worker_connections at "
                                       "most): a full worker closes idle connections to make room (\"reusing "
                                       "connections\") and the new ones it cannot fit",
                                       Count(least), Count(most), 100.0 * double(most) / double(wc)));
    }
    f.remedy = fmt::format("raise worker_connections in the events block of {} (now {}); keep worker_rlimit_nofile above it",
                           conf, Count(wc));
  } else {
    f.remedy = "raise the server's own limit on connections (max clients / max connections / worker connections)";
  }
  return f;
}

std::optional<ServerFinding> IdleTimeout(const ServerReport& r) {
  uint64_t opened = r.samples.empty() ? 0 : r.samples.back().opened;
  if (r.closed_by_server < 10 || r.closed_by_server * 100 < opened) return std::nullopt;
  if (r.closed_after_p10 < 0.5 || r.closed_after_p90 > 1.5 * r.closed_after_p10) return std::nullopt;
  // The server must have held what it closed: accepted fell from its peak.
  // Late closes of connections it never accepted are handshakes its full
  // queue dropped (the client held a half-open connection), not a timeout.
  // With the queue overflowing, most of what was closed must have been held.
  if (r.accepted_peak <= r.held) return std::nullopt;
  auto ov = r.counters.find("TcpExt.ListenOverflows");
  if (ov != r.counters.end() && ov->second > 0 && (r.accepted_peak - r.held) * 2 < r.closed_by_server) return std::nullopt;
  ServerFinding f{"server.idle_timeout", "the server's idle timeout", 0, {}, ""};
  f.evidence.push_back(fmt::format("the server closed {} idle connections after {} (p10 {}, p90 {})",
                                   Count(r.closed_by_server), FormatSeconds(r.closed_after_p50),
                                   FormatSeconds(r.closed_after_p10), FormatSeconds(r.closed_after_p90)));
  f.remedy = fmt::format("the server drops connections idle for about {}: send keepalive traffic more often than "
                         "that (load --ping), or raise its idle/read timeout",
                         FormatSeconds(r.closed_after_p50));
  if (r.kind.name == "nginx") f.remedy += " (nginx: client_header_timeout, client_body_timeout, keepalive_timeout)";
  return f;
}

std::optional<ServerFinding> NotAccepting(const ServerReport& r, unsigned cores) {
  if (!QueueFull(r)) return std::nullopt;
  double cpu = 0;
  uint64_t threads = 1;
  size_t n = std::min<size_t>(r.samples.size(), 8);
  for (size_t i = r.samples.size() - n; i < r.samples.size(); ++i) cpu = std::max(cpu, r.samples[i].cpu_percent);
  if (!r.samples.empty()) threads = std::max<uint64_t>(1, r.samples.back().threads);
  double can_use = 100.0 * double(std::min<uint64_t>(threads, cores));
  ServerFinding f;
  if (cpu >= 0.9 * can_use) {
    f = {"server.cpu", "the server's CPU", r.accepted_peak, {}, ""};
    f.evidence.push_back(fmt::format("the server used {:.0f}% CPU of the {:.0f}% its {} thread(s) can use on {} core(s)",
                                     cpu, can_use, threads, cores));
    f.remedy = "the server cannot accept faster than this: give it more threads/processes or cores, or make accepting cheaper";
  } else {
    f = {"server.not_accepting", "the listen queue: the server stopped accepting", r.accepted_peak, {}, ""};
    f.evidence.push_back(fmt::format("the server accepted {} and then no more while using {:.0f}% CPU", Count(r.accepted_peak), cpu));
    f.remedy = "the server does not call accept() (blocked, stuck or by design); a larger listen backlog "
               "(net.core.somaxconn and the server's listen() backlog) only delays the overflow";
  }
  if (!r.samples.empty()) {
    f.evidence.push_back(fmt::format("listen queue {} of a backlog of {}", Count(r.queued), Count(r.samples.back().backlog)));
  }
  AddQueueEvidence(r, f);
  return f;
}

// The queue overflowed while the server still accepted: clients connect
// faster than it accepts.
std::optional<ServerFinding> Backlog(const ServerReport& r) {
  if (!Overflowed(r) || QueueFull(r)) return std::nullopt;
  uint64_t backlog = r.samples.empty() ? 0 : r.samples.back().backlog;
  ServerFinding f{"net.core.somaxconn", "the listen backlog: the server accepts slower than clients connect", 0, {}, ""};
  f.evidence.push_back(fmt::format("the listen queue holds {} (the smaller of the server's listen() backlog and "
                                   "net.core.somaxconn)", Count(backlog)));
  AddQueueEvidence(r, f);
  f.remedy = "raise the server's listen() backlog and net.core.somaxconn, or make it accept faster; clients whose "
             "handshake was dropped retry (SYN) or hold a connection the server does not know (SYN cookies)";
  return f;
}

std::optional<ServerFinding> ClientErrors(const ServerReport& r) {
  uint64_t total = 0;
  std::string worst;
  uint64_t worst_n = 0;
  for (const auto& [key, n] : r.errors) {
    total += n;
    if (n > worst_n) worst = key, worst_n = n;
  }
  if (total == 0) return std::nullopt;
  int code = limits::ErrnoFromKey(worst);
  std::string id(limits::FindingIdFor(code));
  ServerFinding f{id.empty() ? "client." + worst : id, fmt::format("client connects failing with {}", worst), 0, {}, ""};
  f.evidence.push_back(fmt::format("{} connects failed, {} with {}: {}", Count(total), Count(worst_n), worst,
                                   limits::ErrorMeaning(code)));
  f.remedy = std::string(limits::ErrorRemedy(code));
  return f;
}

}  // namespace

std::vector<ServerFinding> DiagnoseServer(const ServerVerdictInput& in) {
  const ServerReport& r = *in.report;
  std::vector<ServerFinding> out;
  if (r.target_reached) return out;
  if (r.guard_tripped) {
    ServerFinding f{"memory", "memory (the box)", r.held, {}, ""};
    f.evidence.push_back("usable memory fell to the reserve; the load stopped opening");
    f.remedy = "more memory, or less per connection (see the cost per connection)";
    out.push_back(f);
  }
  if (in.cgroup_limit && in.cgroup_usage * 100 >= *in.cgroup_limit * 95) {
    ServerFinding f{"cgroup_memory", "the server's memory control group limit", r.held, {}, ""};
    f.evidence.push_back(fmt::format("{} charged of a {} limit", FormatBytes(double(in.cgroup_usage)),
                                     FormatBytes(double(*in.cgroup_limit))));
    f.remedy = fmt::format("raise memory.max / memory.limit_in_bytes of {}", r.cgroup);
    out.push_back(f);
  }
  std::optional<ServerFinding> fd = FdLimit(r);
  if (fd) out.push_back(*fd);
  for (auto rule : {ConnectionCap, IdleTimeout}) {
    if (auto f = rule(r)) out.push_back(*f);
  }
  // A full or overflowing queue is what an fd limit looks like from outside
  // (accept fails, the queue fills): a finding of its own only without one.
  if (!fd) {
    if (auto f = NotAccepting(r, in.cores)) out.push_back(*f);
    if (auto f = Backlog(r)) out.push_back(*f);
  }
  if (auto f = ClientErrors(r)) out.push_back(*f);
  // One finding per id (a client errno can point at the finding a rule named).
  std::vector<ServerFinding> unique;
  for (ServerFinding& f : out) {
    if (std::none_of(unique.begin(), unique.end(), [&](const ServerFinding& u) { return u.id == f.id; })) unique.push_back(std::move(f));
  }
  out = std::move(unique);
  if (out.empty()) {
    ServerFinding f{"unknown", "not identified", r.held, {}, ""};
    f.evidence.push_back(fmt::format("the climb ended ({}) with {} held by the server, no closes, no queue overflow",
                                     StopReasonName(r.stop_reason), Count(r.held)));
    f.remedy = "run longer (--timeout) or with a larger --target; see the samples in --json";
    out.push_back(f);
  }
  return out;
}

}  // namespace tcpmax::probe

#include "probe/server_view.h"

#include <signal.h>

#include <algorithm>

#include <fmt/format.h>

#include "diag/server_scan.h"
#include "sys/process_facts.h"

namespace tcpmax::probe {

Result<void> CheckServerListens(pid_t pid, const std::vector<PortRange>& ports) {
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) {
    return ErrnoError(ESRCH, fmt::format("--server-pid {}: no such process", pid));
  }
  auto scan = diag::ScanServerSockets(ports);
  if (!scan) return tl::unexpected(scan.error());
  std::vector<uint64_t> owned = sys::SocketInodes(sys::ProcessTree(pid));
  for (const PortRange& r : ports) {
    for (uint32_t port = r.lo; port <= r.hi; ++port) {
      bool ours = std::any_of(scan->listening.begin(), scan->listening.end(), [&](const auto& l) {
        return l.first == port && std::binary_search(owned.begin(), owned.end(), l.second);
      });
      if (!ours) return ErrnoError(EINVAL, fmt::format("--server-pid {} does not listen on port {}", pid, port));
    }
  }
  return {};
}

Result<ServerView> ViewServer(pid_t pid, const std::vector<PortRange>& ports) {
  ServerView v;
  v.pid = pid;
  std::vector<pid_t> tree = sys::ProcessTree(pid);
  if (tree.empty()) return ErrnoError(ESRCH, fmt::format("--server-pid {}: the process exited", pid));
  v.processes = tree.size();
  v.nofile_soft = sys::kUnlimited;
  for (pid_t p : tree) {
    auto f = sys::ReadProcessFacts(p);
    if (!f) continue;
    if (p == pid) v.name = f->comm;
    v.fds += f->fds;
    v.nofile_soft = std::min(v.nofile_soft, f->nofile_soft);
  }
  std::vector<uint64_t> owned = sys::SocketInodes(tree);
  auto scan = diag::ScanServerSockets(ports, owned);
  if (!scan) return tl::unexpected(scan.error());
  v.held = scan->owned;
  v.accepted = scan->accepted;
  v.queued = scan->no_file;
  v.close_wait = scan->close_wait;
  return v;
}

}  // namespace tcpmax::probe

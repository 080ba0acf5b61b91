#include "probe/verdict.h"

#include <string_view>

namespace tcpmax::probe {
namespace {

// Human names of the finding ids a climb can end at.
std::string_view LimitName(std::string_view id) {
  if (id == "rlimit_nofile_hard") return "RLIMIT_NOFILE (hard), per process";
  if (id == "fs.file-max") return "fs.file-max (open files, whole box)";
  if (id == "net.ipv4.ip_local_port_range") return "ephemeral ports per (source, destination) pair";
  if (id == "memory") return "MemAvailable (kernel memory)";
  if (id == "fs.epoll.max_user_watches") return "fs.epoll.max_user_watches (per user)";
  if (id == "net.core.somaxconn") return "accept or SYN queue (net.core.somaxconn, net.ipv4.tcp_max_syn_backlog)";
  return id;
}

}  // namespace

Verdict Decide(StopReason reason, const limits::ErrorCounts& errors) {
  Verdict v;
  if (reason == StopReason::kTarget) {
    v.binding_limit = "none: the target was reached";
    return v;
  }
  if (reason == StopReason::kMemoryReserve) {
    v.binding_id = "memory";
    v.binding_limit = std::string(LimitName(v.binding_id)) + ", at the probe's reserve or memory-pressure limit";
    v.remedy = "more RAM, or fewer bytes per connection (a user-space stack: tcpmax userland)";
    return v;
  }
  auto by_class = errors.ByClass();  // largest count first
  if (by_class.empty() || (reason != StopReason::kLimit && reason != StopReason::kStalled)) {
    v.binding_limit = "unknown (" + std::string(StopReasonName(reason)) + ")";
    return v;
  }
  int code = by_class.front().first;
  v.binding_id = std::string(limits::FindingIdFor(code));
  v.binding_limit = v.binding_id.empty() ? std::string(limits::ErrorKey(code)) + " errors"
                                         : std::string(LimitName(v.binding_id));
  v.remedy = std::string(limits::ErrorRemedy(code));
  return v;
}

}  // namespace tcpmax::probe

#include "load/source_plan.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/fd.h"

namespace tcpmax::load {
namespace {

// IPv4 ranges of /30 or wider leave out their network and broadcast
// addresses (127.255.255.255 is a broadcast address even on loopback).
bool SkipEdges(const Cidr& c) { return !c.base.is_v6() && c.prefix <= 30; }

uint64_t Usable(const Cidr& c) { return SkipEdges(c) ? c.Size() - 2 : c.Size(); }

}  // namespace

uint64_t SourcePlan::UsableCount(const std::vector<Cidr>& sources) {
  uint64_t total = 0;
  for (const Cidr& c : sources) total += Usable(c);
  return total;
}

Result<SourcePlan> SourcePlan::Make(std::vector<Cidr> sources, std::vector<Endpoint> targets,
                                    uint64_t connections, SourceWindow window) {
  if (targets.empty()) return PlainError("no target");
  if (sources.empty()) return PlainError("no source address");
  int family = targets[0].ip.family;
  for (const Endpoint& t : targets) {
    if (t.ip.family != family) return PlainError("targets mix IPv4 and IPv6: " + t.ToString());
  }
  SourcePlan plan;
  uint64_t total = 0;
  for (const Cidr& c : sources) {
    if (c.base.family != family) {
      return PlainError("source " + c.ToString() + " is not the family of target " + targets[0].ToString());
    }
    plan.skip_.push_back(SkipEdges(c) ? 1 : 0);
    total += Usable(c);
  }
  if (window.first >= total || window.count == 0) {
    return PlainError("source window " + std::to_string(window.first) + "+" + std::to_string(window.count) +
                      " is outside the " + std::to_string(total) + " source addresses");
  }
  plan.source_first_ = window.first;
  total = std::min(total - window.first, window.count);
  uint64_t per_target = (connections + targets.size() - 1) / targets.size();
  plan.source_count_ = std::max<uint64_t>(1, std::min(total, per_target));
  plan.sources_ = std::move(sources);
  plan.targets_ = std::move(targets);
  for (const Endpoint& t : plan.targets_) {
    sockaddr_storage ss{};
    plan.target_lens_.push_back(t.ToSockaddr(&ss));
    plan.target_addrs_.push_back(ss);
  }
  uint64_t pairs = plan.pair_count();
  plan.max_per_pair_ = (connections + pairs - 1) / pairs;
  return plan;
}

IpAddress SourcePlan::SourceOf(uint64_t i) const {
  uint64_t k = source_first_ + (i / targets_.size()) % source_count_;
  for (size_t r = 0; r < sources_.size(); ++r) {
    uint64_t usable = Usable(sources_[r]);
    if (k < usable) return sources_[r].At(k + skip_[r]);
    k -= usable;
  }
  return sources_[0].At(skip_[0]);  // unreachable: k < total
}

const sockaddr* SourcePlan::TargetAddr(uint64_t i, socklen_t* len) const {
  size_t t = i % targets_.size();
  *len = target_lens_[t];
  return reinterpret_cast<const sockaddr*>(&target_addrs_[t]);
}

Result<std::vector<Cidr>> DefaultSources(const Endpoint& target) {
  if (target.ip.IsLoopback()) {
    if (target.ip.is_v6()) return ParseCidrs("::1/128");
    return ParseCidrs("127.0.0.0/16");
  }
  // Ask the routing table which local address reaches the target.
  Fd probe(::socket(target.ip.family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!probe) return ErrnoError("socket for route lookup");
  sockaddr_storage ss{};
  socklen_t len = target.ToSockaddr(&ss);
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return ErrnoError("route lookup to " + target.ToString());
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    return ErrnoError("getsockname after route lookup");
  }
  IpAddress via = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&local)).ip;
  // Every address of the interface that owns `via`, same family.
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return ErrnoError("getifaddrs");
  std::string ifname;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr != nullptr && a->ifa_addr->sa_family == via.family &&
        Endpoint::FromSockaddr(a->ifa_addr).ip == via) {
      ifname = a->ifa_name;
    }
  }
  std::vector<Cidr> out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != via.family || ifname != a->ifa_name) continue;
    IpAddress ip = Endpoint::FromSockaddr(a->ifa_addr).ip;
    if (ip.is_v6() && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) continue;  // link-local
    out.push_back(Cidr::Host(ip));
  }
  ::freeifaddrs(list);
  if (out.empty()) out.push_back(Cidr::Host(via));
  return out;
}

}  // namespace tcpmax::load

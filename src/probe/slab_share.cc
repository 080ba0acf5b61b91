#include "probe/slab_share.h"

#include <algorithm>
#include <cmath>

namespace tcpmax::probe {
namespace {

bool OwnedBySocket(std::string_view cache) {
  for (std::string_view c : sys::kSocketCaches) {
    if (c == cache) return true;
  }
  for (std::string_view c : kBindCaches) {
    if (c == cache) return true;
  }
  return false;
}

double Grown(const sys::Slabinfo& before, const std::string& name, const sys::SlabCache& now) {
  auto it = before.find(name);
  double was = it == before.end() ? 0.0 : double(it->second.active_objs);
  return double(now.active_objs) - was;
}

}  // namespace

SlabShare ShareSlab(const sys::Slabinfo& before, const sys::Slabinfo& after, uint64_t connections) {
  SlabShare out;
  out.connections = connections;
  if (connections == 0) return out;
  double n = double(connections);
  double sockets = 0;
  for (std::string_view tcp : {"TCP", "TCPv6"}) {
    auto it = after.find(tcp);
    if (it != after.end()) sockets += std::max(0.0, Grown(before, it->first, it->second));
  }
  out.sockets = sockets / n;
  for (const auto& [name, cache] : after) {
    double grown = Grown(before, name, cache);
    if (std::fabs(grown) / n < 0.01) continue;
    SlabCacheShare s;
    s.cache = name;
    s.objects = grown / n;
    s.bytes = grown * cache.footprint() / n;
    if (OwnedBySocket(name)) {
      s.socket_bytes = s.bytes;
    } else if (name == "dentry" && grown > 0) {
      s.socket_bytes = std::min(grown, sockets) * cache.footprint() / n;
    }
    out.socket_bytes += s.socket_bytes;
    out.other_bytes += s.bytes - s.socket_bytes;
    out.caches.push_back(std::move(s));
  }
  std::sort(out.caches.begin(), out.caches.end(),
            [](const SlabCacheShare& a, const SlabCacheShare& b) { return std::fabs(a.bytes) > std::fabs(b.bytes); });
  return out;
}

}  // namespace tcpmax::probe

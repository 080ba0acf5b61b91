// SlabShare: which slab caches grew while the probe held its connections,
// per connection, and which of that growth the sockets own.
//
// Box-wide Slab growth is not the sockets' cost alone: a process walking
// /proc/*/fd (one does on this project's machines) adds proc inodes and
// dentries for every descriptor it visits, and the kmalloc caches move with
// anything on the box. The socket-attributable share is the growth of the
// caches a held socket owns (sys::kSocketCaches, the bind buckets of the
// client's ports) plus one dentry per socket (sockfs names every socket
// file); everything else is reported beside it as "other".
// Pure: two slabinfo readings in, a table out. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sys/slabinfo.h"

namespace tcpmax::probe {

struct SlabCacheShare {
  std::string cache;
  double objects = 0;      // objects per connection (negative: the cache shrank)
  double bytes = 0;        // slab bytes per connection (objects x footprint)
  double socket_bytes = 0; // of which the sockets own (dentry: one per socket)
};

struct SlabShare {
  uint64_t connections = 0;
  double sockets = 0;                 // sockets per connection (TCP objects grown / connections; 2 on loopback)
  std::vector<SlabCacheShare> caches; // every cache that moved by 1% of an object per connection or more, largest first
  double socket_bytes = 0;            // per connection: what the sockets own
  double other_bytes = 0;             // per connection: the rest of the caches' growth
  bool valid() const { return connections > 0 && !caches.empty(); }
};

// The bind buckets of the client's ports: owned by its sockets too.
inline constexpr std::string_view kBindCaches[] = {"tcp_bind_bucket", "tcp_bind2_bucket"};

SlabShare ShareSlab(const sys::Slabinfo& before, const sys::Slabinfo& after, uint64_t connections);

}  // namespace tcpmax::probe

// The model: Snapshot + Scenario -> Ceiling, a pure function.
//
// For each direction (inbound: this box is the server; outbound: this box is
// the client) every limit becomes one Finding: what it is, what was read,
// how many connections it allows (with the arithmetic), the exact remedy.
// The ceiling is the minimum over the findings; the finding that gives it is
// the binding limit and the second smallest is the next limit, the one that
// binds once the first is raised. Three minima are reported:
//   per_process  the limits of one process (RLIMIT_NOFILE, fs.nr_open)
//   per_user     limits shared by all processes of one user (epoll watches)
//   box          the limits of the whole box (file-max, memory, cgroup,
//                conntrack, tcp_mem; threads when one thread serves each
//                connection) and of the tuple space
//   total        min(processes x per_process, per_user, box): the answer
// Limits whose reading is unknown are kept as rows marked unknown and left
// out of the minima.
// Also computed: the TIME_WAIT-bounded rate of new connections to one
// destination, the 4-tuple arithmetic, the user-space-stack estimate.
// Thread-safety: pure; a Ceiling is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "limits/kernel_memory.h"
#include "limits/nat.h"
#include "limits/snapshot.h"

namespace tcpmax::limits {

// What the user asks about (flags of `tcpmax limits`).
struct Scenario {
  uint64_t listen_ports = 1;      // inbound: ports listened on, per listening address
  uint64_t listen_ips = 1;        // inbound: listening addresses
  uint64_t processes = 1;         // server (or client) processes sharing the load
  uint64_t destinations = 1;      // outbound: distinct destination ip:port
  uint64_t source_ips = 1;        // outbound: local source addresses used
  bool bind_no_port = true;       // outbound: IP_BIND_ADDRESS_NO_PORT when binding a source address
  bool ipv6 = false;
  bool epoll = true;              // the program watches each socket with epoll
  bool loopback = false;          // both ends on this box: box costs count twice
  uint64_t app_bytes = 0;         // user-space memory the application keeps per connection
  uint64_t queued_bytes = 0;      // data waiting in socket buffers per connection
  bool thread_per_connection = false;
  std::optional<NatProfile> nat;  // outbound through a cloud NAT
  uint64_t nat_ips = 1;
  uint64_t nat_vm_ports = 0;      // 0: the profile's default
  // A user-space TCP stack's state per connection: what `tcpmax userland`
  // measured holding 10,000,000 (26.9 B; bench/RESULTS.md, bench/userland).
  uint64_t userland_bytes = 27;
};

enum class Scope { kProcess, kUser, kBox, kTuple, kNat, kThreads, kInfo };
std::string_view ScopeName(Scope scope);

// One number read for a limit, named the way the JSON names it, with its
// unit in the name ("hard", "mem_available_bytes", "max_pages", "range").
struct Reading {
  enum class Kind {
    kNumber,   // values[0]
    kList,     // values, e.g. a port range {32768, 60999}
    kNoLimit,  // "unlimited" / "max": no bound (values empty)
    kFlag,     // values[0] is 0 or 1, e.g. conntrack "loaded"
  };
  std::string name;
  Kind kind = Kind::kNumber;
  std::vector<uint64_t> values;
};

struct Finding {
  std::string id;                   // stable key: "rlimit_nofile_hard"
  std::string limit;                // "RLIMIT_NOFILE (hard)"
  Scope scope = Scope::kBox;
  std::string observed;             // what was read, for people: "20,000 (1,234 in use)"; "unknown"
  bool known = true;                // false: the reading is unknown
  std::vector<Reading> readings;    // the same as numbers (empty when unknown)
  std::optional<uint64_t> allows;   // connections it allows; nullopt: no bound (or unknown)
  // fs.file-max only: what it allows a process without CAP_SYS_ADMIN (which
  // this one has, so `allows` is empty).
  std::optional<uint64_t> allows_unprivileged;
  std::string arithmetic;           // "20000 - 5 fds kept by the program = 19995"
  std::string note;                 // why it does or does not bind
  std::vector<std::string> remedies;  // exact commands or config lines
  bool binding = false;             // gives the direction's total ceiling
  bool binding_per_process = false;
  bool binding_box = false;
};

struct Verdict {
  std::optional<uint64_t> ceiling;      // nullopt: nothing known bounds it
  std::string binding;                  // Finding::id
  std::string next;                     // Finding::id of the next limit
  std::optional<uint64_t> next_ceiling;
  std::string arithmetic;               // "min(...) = ..."
};

struct Direction {
  std::string name;                 // "inbound" or "outbound"
  std::vector<Finding> findings;
  Verdict per_process;
  Verdict per_user;
  Verdict box;
  Verdict total;
  uint64_t processes_for_box = 0;   // processes needed so a user or box limit binds (0: unknown)

  const Finding* Find(std::string_view id) const;
};

struct TimeWaitRate {
  uint64_t ports = 0;                // usable ephemeral ports per source address
  uint64_t source_ips = 1;
  uint64_t time_wait_seconds = 60;   // TCP_TIMEWAIT_LEN, compiled into the kernel
  std::optional<uint64_t> tw_reuse;  // net.ipv4.tcp_tw_reuse
  bool reuse_applies = false;        // tw_reuse=1, or =2 with a loopback destination
  double per_second = 0;             // sustained new connections/s to one destination
  std::optional<uint64_t> max_tw_buckets;
  std::string arithmetic;
  std::string note;
};

struct TupleSpace {
  uint64_t ephemeral_ports = 0;       // usable in ip_local_port_range, minus reserved
  uint64_t all_ports = 65535;         // the folklore "64K"
  uint64_t loopback_sources = 0;      // usable source addresses on loopback (127/8: 16,777,214)
  uint64_t other_sources = 0;         // addresses on other interfaces
  uint64_t scenario_tuples = 0;       // source_ips x ports x destinations (saturating)
  std::string arithmetic;
};

struct UserlandEstimate {
  uint64_t bytes_per_connection = 0;
  std::optional<uint64_t> allows;     // memory / bytes
  std::string arithmetic;
};

struct Ceiling {
  Scenario scenario;
  std::string source;                 // Snapshot::source
  ConnectionMemory memory;            // kernel bytes per connection end
  uint64_t ends_on_box = 1;           // 2 with --loopback
  uint64_t bytes_per_connection = 0;  // per_end x ends + app + queued
  Direction inbound;
  Direction outbound;
  // The outbound whole-box ceiling with and without IP_BIND_ADDRESS_NO_PORT.
  std::optional<uint64_t> outbound_without_bind_no_port;
  std::optional<uint64_t> outbound_with_bind_no_port;
  TimeWaitRate rate;
  TupleSpace tuple;
  UserlandEstimate userland;
  std::vector<Finding> queues;        // accept/SYN queues: bursts, not held connections
  std::map<std::string, std::string> unknown;
};

Ceiling ComputeCeiling(const Snapshot& snapshot, const Scenario& scenario);

// a x b, saturating at UINT64_MAX.
uint64_t SatMul(uint64_t a, uint64_t b);

}  // namespace tcpmax::limits

// `tcpmax probe --server`: the ceiling of the user's server, what stops it,
// and what each connection costs it.
//
//   PrepareServer  names the server (--pid, --exec, --cgroup), checks that it
//                  listens on every address given, reads its processes and
//                  recognises it (server_config.h). With --exec it starts the
//                  command first, in a memory control group of its own below
//                  tcpmax's (journaled), and waits until it listens. Its
//                  errors are the user's (exit 2); nothing is left behind.
//   RunServerProbe drives load shards (load::RunShard, through sys/shard.h)
//                  at the server, samples both points of view every interval
//                  (the client's; the server's: accepted sockets, the listen
//                  queue, its descriptors, memory, CPU, TcpExt counters),
//                  stops at the target, a plateau, the memory reserve or the
//                  timeout, settles, verifies that what the server holds is
//                  its own (socket inodes among its descriptors), names what
//                  stopped it (server_verdict.h) and fits the cost per
//                  connection. A server tcpmax started is stopped at the end
//                  (SIGTERM, SIGKILL after the grace period).
// Thread-safety: runs on the caller's thread, which must not have started
// other threads (shards are forked); `stop` may be set from a signal handler.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/engine.h"
#include "core/error.h"
#include "core/fd.h"
#include "probe/box.h"
#include "probe/server_report.h"
#include "sys/memcg.h"
#include "sys/reader.h"

namespace tcpmax::probe {

struct ServerProbeOptions {
  std::string server;                       // ADDR:PORTS the server listens on (loopback)
  pid_t pid = 0;                            // --pid
  std::string exec;                         // --exec COMMAND (run by /bin/sh -c)
  std::string cgroup;                       // --cgroup PATH
  uint64_t target = 100'000;
  Engine engine = Engine::kAuto;            // the load engine
  double rate = 0;                          // connections/s; 0: as fast as load goes
  double reserve_percent = 10;
  uint64_t reserve_bytes = 0;        // instead of reserve_percent when non-zero
  double max_memory_pressure = 20;  // PSI memory "full" avg10, percent (memory_guard.h)
  std::chrono::seconds timeout{600};
  std::chrono::milliseconds interval{250};
  std::chrono::milliseconds hold{0};        // keep the peak this long before teardown
  std::chrono::milliseconds ready_timeout{10'000};  // --exec: until it listens
  std::chrono::milliseconds grace{3'000};   // --exec: SIGTERM to SIGKILL at the end
  double plateau_seconds = 3;               // accepted flat this long while connects go on: the ceiling
  int shard_nice = 10;
};

struct ServerSetup;

// The server as named and found. Owns a server tcpmax started (and its
// control group): destroying it stops the server and removes the group.
class ServerUnderTest {
 public:
  ~ServerUnderTest();
  ServerUnderTest(const ServerUnderTest&) = delete;
  ServerUnderTest& operator=(const ServerUnderTest&) = delete;

  // The server's processes now (the tree under --pid, or the group's).
  std::vector<pid_t> Pids() const;
  // Stops a server tcpmax started and removes its group; a note says how.
  // Does nothing for --pid and --cgroup.
  std::string Stop(std::chrono::milliseconds grace);

  pid_t main_pid = 0;
  std::string named_by;                     // "--pid 1234"
  std::optional<sys::MemoryCgroup> cgroup;  // the server's memory group
  bool cgroup_own = false;                  // holds the server alone (--exec, --cgroup)
  bool started = false;                     // --exec

 private:
  friend Result<std::unique_ptr<ServerUnderTest>> FindServer(const ServerProbeOptions&);
  ServerUnderTest() = default;
  friend Result<ServerSetup> PrepareServer(const ServerProbeOptions&, const sys::Reader&);
  bool from_group_ = false;                 // Pids() from the group's cgroup.procs
  Fd log_;                                  // --exec: the server's stdout and stderr (an unlinked file)
  bool stopped_ = false;
};

struct ServerSetup {
  BoxFacts box;
  std::vector<Endpoint> targets;
  std::vector<PortRange> ports;
  std::vector<Cidr> sources;
  uint64_t reserve_bytes = 0;
  std::unique_ptr<ServerUnderTest> server;
  ServerKind kind;
};

// Finds (or, with --exec, starts) the server; the errors are the user's.
Result<std::unique_ptr<ServerUnderTest>> FindServer(const ServerProbeOptions& options);
Result<ServerSetup> PrepareServer(const ServerProbeOptions& options, const sys::Reader& reader);

struct ServerObserver {
  std::function<void(const ServerSample&, const ServerReport&)> on_sample;
  std::function<void(std::string_view)> on_phase;
};

Result<ServerReport> RunServerProbe(const ServerProbeOptions& options, ServerSetup& setup, const ServerObserver& observer,
                                    const std::atomic<bool>& stop, const sys::Reader& memory);

}  // namespace tcpmax::probe

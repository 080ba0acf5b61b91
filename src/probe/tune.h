// Tuning: the sysctls `tcpmax probe --tune` raises for a run, each printed by
// the caller and restored when the Tuning is destroyed (or on Restore()),
// including after an error or SIGINT, since the probe unwinds normally.
// Wanted() says what Apply() would set without changing anything, so the
// prediction can be made under the settings the climb will run with.
// Apply() takes the run lock and journals every change first (sys/journal.h):
// a second tuned run is refused naming this one, a value someone else changed
// meanwhile is left alone, and after SIGKILL the next run (or `tcpmax
// restore`) puts the originals back.
// Thread-safety: one thread.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "sys/reader.h"
#include "sys/sysctl.h"

namespace tcpmax::probe {

struct Setting {
  std::string name;   // "fs.file-max"
  std::string from;   // the value now
  std::string value;  // what --tune sets
};

class Tuning {
 public:
  // What a run of `target_connections` needs raised, read through `reader`:
  // fs.file-max (two sockets per connection plus headroom),
  // net.ipv4.ip_local_port_range (1024-65535), net.core.somaxconn and
  // net.ipv4.tcp_max_syn_backlog (65535), fs.epoll.max_user_watches (two
  // watches per connection: both ends are here), and
  // net.netfilter.nf_conntrack_max when conntrack is loaded. Only settings
  // lower than needed are listed.
  static Result<std::vector<Setting>> Wanted(uint64_t target_connections, const sys::Reader& reader);
  // Sets each of `settings` on the live box.
  static Result<Tuning> Apply(const std::vector<Setting>& settings);

  // "fs.file-max: 2466170 -> 6600000" for each change made.
  const std::vector<std::string>& changes() const { return changes_; }
  // Puts every value back; returns the lines "name: restored to X", or
  // "name: NOT restored: ..." for a value someone else changed since.
  std::vector<std::string> Restore();

 private:
  std::vector<sys::SysctlGuard> guards_;
  std::vector<std::string> changes_;
};

}  // namespace tcpmax::probe

// NetnsSetup: the network namespace a userland engine runs its TUN in.
//
// Open() creates namespace NAME (`ip netns add`, loopback up) and refuses a
// NAME that exists already: tcpmax works only in a namespace it made, unless
// the caller passes `reuse` (--netns-reuse NAME), and even then never in the
// host's namespace or its own (compared by namespace identity with
// /proc/1/ns/net and /proc/self/ns/net), and never in one with an interface
// other than loopback and TUN devices (a way off the box). CreateTun() makes the TUN device
// inside it; Ip() runs `ip -n NAME ...`; SetSysctl() writes a sysctl of that
// namespace (never of the host). Before each change the namespace is checked
// to be still the one opened.
//
// Every change is written to the run journal first (sys/journal.h, shared run
// lock) and reported through `notify` (the CLI prints it); the destructor
// undoes them newest first: routes, TUN check, sysctls, and the namespace
// when this object created it. After SIGKILL the next run or `tcpmax
// restore` does it. Destroy TUN links first.
// Thread-safety: use from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "sys/netns.h"
#include "sys/sysctl.h"
#include "userland/link/tun_link.h"

namespace tcpmax::userland::link {

using Notify = std::function<void(const std::string&)>;

// True when `name` is a safe namespace or device name: [A-Za-z0-9_.-]{1,15}.
bool ValidIfName(const std::string& name);

class NetnsSetup {
 public:
  static Result<std::unique_ptr<NetnsSetup>> Open(const std::string& name, bool reuse, Notify notify);
  ~NetnsSetup();
  NetnsSetup(const NetnsSetup&) = delete;
  NetnsSetup& operator=(const NetnsSetup&) = delete;

  Result<std::unique_ptr<TunLink>> CreateTun(const std::string& dev);
  // `ip -n NAME args...`; a "route add ..." is journalled and deleted on exit.
  Result<void> Ip(const std::vector<std::string>& args);
  // A sysctl of this namespace by name, e.g. "net.ipv4.ip_forward".
  Result<void> SetSysctl(const std::string& name, const std::string& value);

  const std::string& name() const { return name_; }
  bool created() const { return created_; }

 private:
  NetnsSetup(std::string name, Notify notify) : name_(std::move(name)), notify_(std::move(notify)) {}
  // Fails unless /run/netns/NAME is still the namespace Open() checked.
  Result<void> CheckSame() const;
  void Tell(const std::string& line) const;  // notify_, never throwing

  std::string name_;
  Notify notify_;
  bool created_ = false;
  sys::NetnsId id_;
  uint64_t netns_change_ = 0;                // journal id when created
  std::vector<uint64_t> link_changes_;       // journal ids: TUNs and routes
  std::vector<sys::SysctlGuard> sysctls_;
};

}  // namespace tcpmax::userland::link

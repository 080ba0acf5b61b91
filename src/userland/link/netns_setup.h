// NetnsSetup: the network namespace a userland engine runs its TUN in.
//
// Open() uses namespace NAME, creating it (with `ip netns add`, loopback up)
// when it does not exist. CreateTun() makes the TUN device inside it: the
// calling thread enters the namespace, creates the device, and returns; the
// device stays in the namespace while its fd lives anywhere. Ip() runs
// `ip -n NAME ...`; SetSysctl() writes a per-namespace sysctl.
//
// Every change is reported through `notify` (the CLI prints it) and undone
// by the destructor in reverse order: sysctls restored, and the namespace
// deleted when this object created it. Destroy TUN links first.
// Thread-safety: use from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "userland/link/tun_link.h"

namespace tcpmax::userland::link {

using Notify = std::function<void(const std::string&)>;

// Runs argv (argv[0] looked up in PATH), waits, and fails with its combined
// output when it exits non-zero.
Result<std::string> RunCommand(const std::vector<std::string>& argv);

// True when `name` is a safe namespace or device name: [A-Za-z0-9_.-]{1,15}.
bool ValidIfName(const std::string& name);

class NetnsSetup {
 public:
  static Result<std::unique_ptr<NetnsSetup>> Open(const std::string& name, Notify notify);
  ~NetnsSetup();
  NetnsSetup(const NetnsSetup&) = delete;
  NetnsSetup& operator=(const NetnsSetup&) = delete;

  Result<std::unique_ptr<TunLink>> CreateTun(const std::string& dev);
  Result<void> Ip(const std::vector<std::string>& args);
  // key as a path under /proc/sys, e.g. "net/ipv4/ip_forward".
  Result<void> SetSysctl(const std::string& key, const std::string& value);

  const std::string& name() const { return name_; }
  bool created() const { return created_; }

 private:
  NetnsSetup(std::string name, Notify notify) : name_(std::move(name)), notify_(std::move(notify)) {}
  // Runs `fn` with the calling thread inside the namespace.
  Result<void> InNamespace(const std::function<Result<void>()>& fn);

  std::string name_;
  Notify notify_;
  bool created_ = false;
  std::vector<std::pair<std::string, std::string>> saved_sysctls_;  // key, old value
};

}  // namespace tcpmax::userland::link

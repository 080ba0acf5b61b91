#include "userland/link/netns_setup.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace tcpmax::userland::link {
namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0) return ErrnoError("read " + path);
  return Trim(std::string(buf, size_t(n)));
}

Result<void> WriteFile(const std::string& path, const std::string& value) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  if (::write(fd.get(), value.data(), value.size()) < 0) return ErrnoError("write " + path);
  return {};
}

}  // namespace

bool ValidIfName(const std::string& name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

Result<std::string> RunCommand(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("pipe for " + Join(argv));
  Fd rd(pipe_fds[0]), wr(pipe_fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return ErrnoError(rc, "spawn " + Join(argv));
  wr.Reset();
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, size_t(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return PlainError(Join(argv) + ": " + Trim(out));
  return out;
}

Result<std::unique_ptr<NetnsSetup>> NetnsSetup::Open(const std::string& name, Notify notify) {
  if (!ValidIfName(name)) return PlainError("netns name '" + name + "' is not [A-Za-z0-9_.-]{1,15}");
  std::unique_ptr<NetnsSetup> ns(new NetnsSetup(name, std::move(notify)));
  struct stat st;
  if (::stat(("/run/netns/" + name).c_str(), &st) == 0) {
    ns->notify_("using existing netns " + name);
    return ns;
  }
  auto r = RunCommand({"ip", "netns", "add", name});
  if (!r) return tl::unexpected(r.error());
  ns->created_ = true;
  ns->notify_("created netns " + name);
  if (auto up = ns->Ip({"link", "set", "lo", "up"}); !up) return tl::unexpected(up.error());
  return ns;
}

NetnsSetup::~NetnsSetup() {
  for (auto it = saved_sysctls_.rbegin(); it != saved_sysctls_.rend(); ++it) {
    if (created_) break;  // the namespace goes away with its settings
    auto r = InNamespace([&]() { return WriteFile("/proc/sys/" + it->first, it->second); });
    notify_(r ? "restored " + it->first + "=" + it->second + " in netns " + name_
              : "could not restore " + it->first + ": " + r.error().ToString());
  }
  if (created_) {
    auto r = RunCommand({"ip", "netns", "del", name_});
    notify_(r ? "removed netns " + name_ : "could not remove netns " + name_ + ": " + r.error().ToString());
  }
}

Result<void> NetnsSetup::InNamespace(const std::function<Result<void>()>& fn) {
  Fd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return ErrnoError("open /proc/thread-self/ns/net");
  std::string path = "/run/netns/" + name_;
  Fd target(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target) return ErrnoError("open " + path);
  if (::setns(target.get(), CLONE_NEWNET) != 0) return ErrnoError("setns " + path);
  Result<void> r = fn();
  if (::setns(self.get(), CLONE_NEWNET) != 0) return ErrnoError("setns back from " + path);
  return r;
}

Result<std::unique_ptr<TunLink>> NetnsSetup::CreateTun(const std::string& dev) {
  if (!ValidIfName(dev)) return PlainError("tun name '" + dev + "' is not [A-Za-z0-9_.-]{1,15}");
  std::unique_ptr<TunLink> link;
  auto r = InNamespace([&]() -> Result<void> {
    auto t = TunLink::Create(dev);
    if (!t) return tl::unexpected(t.error());
    link = std::move(*t);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  notify_("created tun " + dev + " in netns " + name_ + " (removed when the engine exits)");
  return link;
}

Result<void> NetnsSetup::Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv);
  if (!r) return tl::unexpected(r.error());
  notify_(Join(argv));
  return {};
}

Result<void> NetnsSetup::SetSysctl(const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  std::string old;
  auto r = InNamespace([&]() -> Result<void> {
    auto cur = ReadFile(path);
    if (!cur) return tl::unexpected(cur.error());
    old = *cur;
    if (old == value) return {};
    return WriteFile(path, value);
  });
  if (!r) return tl::unexpected(r.error());
  if (old != value) {
    saved_sysctls_.emplace_back(key, old);
    notify_("set " + key + "=" + value + " in netns " + name_ + " (was " + old + ")");
  }
  return {};
}

}  // namespace tcpmax::userland::link

#include "userland/link/netns_setup.h"

#include <fmt/format.h>

#include "sys/command.h"
#include "sys/run_journal.h"

namespace tcpmax::userland::link {
namespace {

sys::Journal* Journal() { return sys::CurrentRunJournal(); }

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

void NetnsSetup::Tell(const std::string& line) const {
  if (!notify_) return;
  try {
    notify_(line);
  } catch (...) {  // output gone: cleanup goes on
  }
}

Result<std::unique_ptr<NetnsSetup>> NetnsSetup::Open(const std::string& name, bool reuse, Notify notify) {
  if (!ValidIfName(name)) return PlainError("netns name '" + name + "' is not [A-Za-z0-9_.-]{1,15}");
  auto journal = sys::RunJournal(sys::LockMode::kShared);
  if (!journal) return tl::unexpected(journal.error());
  std::unique_ptr<NetnsSetup> ns(new NetnsSetup(name, std::move(notify)));
  auto existing = sys::NamedNetnsId(name);
  if (existing) {
    if (!reuse) {
      return ErrnoError(EEXIST, fmt::format("netns {} already exists and this run did not create it; tcpmax "
                                            "works only in a namespace it made (pass --netns-reuse {} to run in "
                                            "that one)",
                                            name, name));
    }
    if (auto host = sys::RefuseHostNetns(name); !host) return tl::unexpected(host.error());
    auto uplinks = sys::NetnsUplinks(name);
    if (!uplinks) return tl::unexpected(uplinks.error());
    if (!uplinks->empty()) {
      return ErrnoError(EPERM, fmt::format("netns {} has interface {} besides loopback and TUN devices: traffic could "
                                           "leave the box; tcpmax runs only in an isolated namespace",
                                           name, uplinks->front()));
    }
    ns->id_ = *existing;
    ns->Tell("using existing netns " + name + " (--netns-reuse)");
    return ns;
  }
  if (existing.error().code != ENOENT) return tl::unexpected(existing.error());
  if (reuse) return ErrnoError(ENOENT, "--netns-reuse " + name + ": no such namespace");
  auto id = (*journal)->Record(sys::Change{sys::ChangeKind::kNetns, "", name, "absent", "created"});
  if (!id) return tl::unexpected(id.error());
  if (auto r = sys::RunCommand({"ip", "netns", "add", name}); !r) {
    (*journal)->NeverMade(*id);
    return tl::unexpected(r.error());
  }
  auto made = sys::NamedNetnsId(name);
  if (!made) return tl::unexpected(made.error());
  if (auto a = (*journal)->Applied(*id, made->ToString()); !a) return tl::unexpected(a.error());
  ns->created_ = true;
  ns->netns_change_ = *id;
  ns->id_ = *made;
  ns->Tell("created netns " + name);
  if (auto up = ns->Ip({"link", "set", "lo", "up"}); !up) return tl::unexpected(up.error());
  return ns;
}

NetnsSetup::~NetnsSetup() {
  sys::Journal* journal = Journal();
  if (journal == nullptr) return;  // closed already: it undid everything
  for (auto it = link_changes_.rbegin(); it != link_changes_.rend(); ++it) {
    sys::UndoResult r = journal->Undo(*it);
    if (r.outcome != sys::Outcome::kAlready) Tell(r.Describe());
  }
  for (auto it = sysctls_.rbegin(); it != sysctls_.rend(); ++it) {
    auto r = it->Restore();
    Tell(r ? fmt::format("restored {}={} in netns {}", it->name(), it->old_value(), name_)
           : "could not restore " + it->name() + ": " + r.error().ToString());
  }
  if (created_) {
    sys::UndoResult r = journal->Undo(netns_change_);
    Tell(r.outcome == sys::Outcome::kUndone ? "removed netns " + name_
                                            : "could not remove netns " + name_ + ": " + r.Describe());
  }
}

Result<void> NetnsSetup::CheckSame() const {
  auto now = sys::NamedNetnsId(name_);
  if (!now) return tl::unexpected(now.error());
  if (!(*now == id_)) return ErrnoError(ESTALE, "netns " + name_ + " was replaced by another namespace of that name");
  return {};
}

Result<std::unique_ptr<TunLink>> NetnsSetup::CreateTun(const std::string& dev) {
  if (!ValidIfName(dev)) return PlainError("tun name '" + dev + "' is not [A-Za-z0-9_.-]{1,15}");
  if (auto same = CheckSame(); !same) return tl::unexpected(same.error());
  if (Journal() == nullptr) return PlainError("the run journal is closed");
  auto id = Journal()->Record(sys::Change{sys::ChangeKind::kTun, name_, dev, "absent", "tun"});
  if (!id) return tl::unexpected(id.error());
  auto scope = sys::NetnsScope::Enter(name_);
  if (!scope) return tl::unexpected(scope.error());
  auto link = TunLink::Create(dev);
  if (!link) {
    Journal()->NeverMade(*id);
    return tl::unexpected(link.error());
  }
  (void)Journal()->Applied(*id, "tun");
  link_changes_.push_back(*id);
  Tell("created tun " + dev + " in netns " + name_ + " (removed when the engine exits)");
  return std::move(*link);
}

Result<void> NetnsSetup::Ip(const std::vector<std::string>& args) {
  if (auto same = CheckSame(); !same) return tl::unexpected(same.error());
  std::vector<std::string> argv = {"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  bool route_add = args.size() > 2 && args[0] == "route" && args[1] == "add";
  uint64_t id = 0;
  if (route_add && Journal() == nullptr) return PlainError("the run journal is closed");
  if (route_add) {
    std::vector<std::string> spec(args.begin() + 2, args.end());
    auto rec = Journal()->Record(sys::Change{sys::ChangeKind::kRoute, name_, sys::JoinArgs(spec), "absent", "added"});
    if (!rec) return tl::unexpected(rec.error());
    id = *rec;
  }
  auto r = sys::RunCommand(argv);
  if (!r) {
    if (route_add) Journal()->NeverMade(id);
    return tl::unexpected(r.error());
  }
  if (route_add) {
    (void)Journal()->Applied(id, "added");
    link_changes_.push_back(id);
  }
  Tell(sys::JoinArgs(argv));
  return {};
}

Result<void> NetnsSetup::SetSysctl(const std::string& name, const std::string& value) {
  if (auto same = CheckSame(); !same) return tl::unexpected(same.error());
  // The host's namespace is never ours, even when reused by name.
  if (auto host = sys::RefuseHostNetns(name_); !host) return tl::unexpected(host.error());
  auto now = sys::ReadLiveSysctl(name, name_);
  if (!now) return tl::unexpected(now.error());
  if (sys::SameSysctlValue(*now, value)) return {};
  auto g = sys::SysctlGuard::Set(name, value, name_);
  if (!g) return tl::unexpected(g.error());
  Tell("set " + name + "=" + value + " in netns " + name_ + " (was " + *now + ")");
  sysctls_.push_back(std::move(*g));
  return {};
}

}  // namespace tcpmax::userland::link

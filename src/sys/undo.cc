#include "sys/undo.h"

#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include <sstream>

#include <fmt/format.h>

#include "sys/command.h"
#include "sys/memcg.h"
#include "sys/netns.h"
#include "sys/nft.h"
#include "sys/sysctl.h"

namespace tcpmax::sys {
namespace {

UndoResult Make(const Change& c, Outcome o, std::string note) { return UndoResult{c, o, std::move(note)}; }

// True when the named namespace the change lives in is gone (with it, the change).
bool NamespaceGone(const Change& c) {
  if (c.netns.empty()) return false;
  auto id = NamedNetnsId(c.netns);
  return !id && id.error().code == ENOENT;
}

UndoResult UndoSysctl(const Change& c, const std::optional<std::string>& applied) {
  auto now = ReadLiveSysctl(c.key, c.netns);
  if (!now) return Make(c, Outcome::kFailed, now.error().ToString());
  if (SameSysctlValue(*now, c.before)) return Make(c, Outcome::kAlready, "holds " + c.before);
  std::string ours = applied.value_or(c.after);
  if (!SameSysctlValue(*now, ours)) {
    return Make(c, Outcome::kLeftAlone,
                fmt::format("changed by someone else since (now '{}', tcpmax set '{}'): left as it is; it was '{}'",
                            *now, ours, c.before));
  }
  if (auto w = WriteLiveSysctl(c.key, c.before, c.netns); !w) return Make(c, Outcome::kFailed, w.error().ToString());
  return Make(c, Outcome::kUndone, c.before);
}

UndoResult UndoNetns(const Change& c, const std::optional<std::string>& applied) {
  auto id = NamedNetnsId(c.key);
  if (!id) {
    if (id.error().code == ENOENT) return Make(c, Outcome::kAlready, "already removed");
    return Make(c, Outcome::kFailed, id.error().ToString());
  }
  auto ours = applied ? NetnsId::Parse(*applied) : std::nullopt;
  if (!ours) {
    return Make(c, Outcome::kLeftAlone,
                "the run ended while creating it, so it may not be tcpmax's: left as it is (ip netns del " + c.key +
                    " removes it)");
  }
  if (!(*ours == *id)) return Make(c, Outcome::kLeftAlone, "a different namespace has that name now: left as it is");
  if (auto r = RemoveNamedNetns(c.key); !r) return Make(c, Outcome::kFailed, r.error().ToString());
  return Make(c, Outcome::kUndone, "removed");
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// `ip [-n NETNS] [-6] route VERB KEY...`: an IPv6 route (its prefix has a
// colon) needs -6, or `ip route show` lists only IPv4 ones and finds nothing.
std::vector<std::string> RouteCommand(const Change& c, const std::string& verb) {
  std::vector<std::string> words = Words(c.key);
  std::vector<std::string> argv = {"ip"};
  if (!c.netns.empty()) argv.insert(argv.end(), {"-n", c.netns});
  if (!words.empty() && words.front().find(':') != std::string::npos) argv.push_back("-6");
  argv.insert(argv.end(), {"route", verb});
  argv.insert(argv.end(), words.begin(), words.end());
  return argv;
}

UndoResult UndoRoute(const Change& c) {
  std::vector<std::string> show = RouteCommand(c, "show");
  std::vector<std::string> del = RouteCommand(c, "del");
  auto listed = RunCommand(show);
  if (!listed || std::string(Trim(*listed)).empty()) return Make(c, Outcome::kAlready, "already gone");
  if (auto r = RunCommand(del); !r) return Make(c, Outcome::kFailed, r.error().ToString());
  return Make(c, Outcome::kUndone, "deleted");
}

UndoResult UndoTun(const Change& c) {
  auto scope = NetnsScope::Enter(c.netns);
  if (!scope) return Make(c, Outcome::kFailed, scope.error().ToString());
  if (::if_nametoindex(c.key.c_str()) == 0) return Make(c, Outcome::kAlready, "gone with its file descriptor");
  return Make(c, Outcome::kLeftAlone, "a device of that name exists (not tcpmax's any more): left as it is");
}

UndoResult UndoCgroup(const Change& c) {
  if (::access(c.key.c_str(), F_OK) != 0) return Make(c, Outcome::kAlready, "already removed");
  if (auto r = KillAndRemoveCgroupDir(c.key, std::chrono::seconds(2)); !r) {
    return Make(c, Outcome::kFailed, r.error().ToString());
  }
  return Make(c, Outcome::kUndone, "stopped what ran in it and removed it");
}

UndoResult UndoNftTable(const Change& c, const std::optional<std::string>& applied) {
  auto space = c.key.find(' ');
  if (space == std::string::npos) return Make(c, Outcome::kFailed, "journal key is not 'FAMILY NAME'");
  std::string family = c.key.substr(0, space), name = c.key.substr(space + 1);
  auto scope = NetnsScope::Enter(c.netns);
  if (!scope) return Make(c, Outcome::kFailed, scope.error().ToString());
  if (auto nft = NftAvailable(); !nft) return Make(c, Outcome::kFailed, nft.error().ToString());
  auto handle = NftTableHandle(family, name);
  if (!handle) return Make(c, Outcome::kFailed, handle.error().ToString());
  if (!*handle) return Make(c, Outcome::kAlready, "already gone");
  if (!applied) {
    return Make(c, Outcome::kLeftAlone,
                "the run ended while installing it, so it may not be tcpmax's: left as it is (nft delete table " +
                    c.key + " removes it)");
  }
  if (std::to_string(**handle) != *applied) {
    return Make(c, Outcome::kLeftAlone,
                fmt::format("a table of that name with another handle ({}, tcpmax's was {}): left as it is", **handle,
                            *applied));
  }
  if (auto r = NftDeleteTable(family, name); !r) return Make(c, Outcome::kFailed, r.error().ToString());
  return Make(c, Outcome::kUndone, "deleted");
}

}  // namespace

UndoResult UndoChange(const Change& c, const std::optional<std::string>& applied) {
  if (NamespaceGone(c)) return Make(c, Outcome::kAlready, "gone with netns " + c.netns);
  switch (c.kind) {
    case ChangeKind::kSysctl: return UndoSysctl(c, applied);
    case ChangeKind::kNetns: return UndoNetns(c, applied);
    case ChangeKind::kRoute: return UndoRoute(c);
    case ChangeKind::kTun: return UndoTun(c);
    case ChangeKind::kCgroup: return UndoCgroup(c);
    case ChangeKind::kNftTable: return UndoNftTable(c, applied);
  }
  return Make(c, Outcome::kFailed, "unknown kind");
}

}  // namespace tcpmax::sys

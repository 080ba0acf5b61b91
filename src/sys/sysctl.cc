#include "sys/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "core/fd.h"
#include "sys/run_journal.h"
#include "sys/netns.h"

namespace tcpmax::sys {

std::string SysctlPath(std::string_view name) {
  std::string path = "/proc/sys/";
  path.append(name);
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

Result<std::string> ReadSysctl(const Reader& reader, std::string_view name) {
  auto text = reader.ReadFile(SysctlPath(name));
  if (!text) return tl::unexpected(text.error());
  return std::string(Trim(*text));
}

Result<std::vector<uint64_t>> ReadSysctlNumbers(const Reader& reader, std::string_view name) {
  auto text = ReadSysctl(reader, name);
  if (!text) return tl::unexpected(text.error());
  auto nums = ParseNumbers(*text);
  if (!nums) return PlainError(std::string(name) + ": " + nums.error().context);
  if (nums->empty()) return PlainError(std::string(name) + ": empty value");
  return nums;
}

Result<uint64_t> ReadSysctlU64(const Reader& reader, std::string_view name) {
  auto nums = ReadSysctlNumbers(reader, name);
  if (!nums) return tl::unexpected(nums.error());
  return nums->front();
}

Result<std::string> WriteSysctl(std::string_view name, std::string_view value) {
  auto old = ReadLiveSysctl(name);
  if (!old) return tl::unexpected(old.error());
  if (auto w = WriteLiveSysctl(name, value); !w) return tl::unexpected(w.error());
  return *old;
}

Result<std::string> ReadLiveSysctl(std::string_view name, std::string_view netns) {
  auto scope = NetnsScope::Enter(netns);
  if (!scope) return tl::unexpected(scope.error());
  auto text = ReadWholeFile(SysctlPath(name));
  if (!text) return tl::unexpected(text.error());
  return std::string(Trim(*text));
}

Result<void> WriteLiveSysctl(std::string_view name, std::string_view value, std::string_view netns) {
  auto scope = NetnsScope::Enter(netns);
  if (!scope) return tl::unexpected(scope.error());
  std::string path = SysctlPath(name);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path + " for writing");
  std::string text(value);
  text.push_back('\n');
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return ErrnoError("write '" + std::string(value) + "' to " + path);
  if (size_t(n) != text.size()) return PlainError("short write to " + path);
  return {};
}

bool SameSysctlValue(std::string_view a, std::string_view b) {
  auto words = [](std::string_view s) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
      size_t b = s.find_first_not_of(" \t\r\n", i);
      if (b == std::string_view::npos) break;
      size_t e = s.find_first_of(" \t\r\n", b);
      if (e == std::string_view::npos) e = s.size();
      out.push_back(s.substr(b, e - b));
      i = e;
    }
    return out;
  };
  return words(a) == words(b);
}

Result<SysctlGuard> SysctlGuard::Set(std::string_view name, std::string_view value, std::string_view netns) {
  // A sysctl that does not exist (ENOENT) is an error before anything else.
  auto old = ReadLiveSysctl(name, netns);
  if (!old) return tl::unexpected(old.error());
  auto journal = RunJournal(LockMode::kExclusive);
  if (!journal) return tl::unexpected(journal.error());
  if (auto again = ReadLiveSysctl(name, netns)) old = std::move(again);  // opening may have replayed a stale run
  auto id = (*journal)->Record(Change{ChangeKind::kSysctl, std::string(netns), std::string(name), *old,
                                      std::string(value)});
  if (!id) return tl::unexpected(id.error());
  if (auto w = WriteLiveSysctl(name, value, netns); !w) {
    (*journal)->NeverMade(*id);
    return tl::unexpected(w.error());
  }
  // The kernel may normalise what it stores ("1024 65535" reads back with a tab).
  auto now = ReadLiveSysctl(name, netns);
  if (auto a = (*journal)->Applied(*id, now ? *now : std::string(value)); !a) return tl::unexpected(a.error());
  return SysctlGuard(std::string(name), std::move(*old), std::string(netns), *id);
}

SysctlGuard::SysctlGuard(SysctlGuard&& o) noexcept
    : name_(std::move(o.name_)),
      old_(std::move(o.old_)),
      netns_(std::move(o.netns_)),
      journal_id_(o.journal_id_),
      armed_(std::exchange(o.armed_, false)) {}

SysctlGuard::~SysctlGuard() { (void)Restore(); }

Result<void> SysctlGuard::Restore() {
  if (!armed_) return {};
  armed_ = false;
  Journal* journal = CurrentRunJournal();
  if (journal == nullptr) return {};  // the journal was closed: it undid this change
  UndoResult r = journal->Undo(journal_id_);
  switch (r.outcome) {
    case Outcome::kUndone:
    case Outcome::kAlready:
    case Outcome::kNeverMade: return {};
    case Outcome::kLeftAlone: return ErrnoError(EBUSY, r.note);
    case Outcome::kFailed: break;
  }
  return PlainError(name_ + ": restoring '" + old_ + "' failed: " + r.note);
}

}  // namespace tcpmax::sys

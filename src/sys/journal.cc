#include "sys/journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "sys/reader.h"
#include "sys/safe_file.h"
#include "sys/undo.h"

namespace tcpmax::sys {
namespace {

constexpr std::string_view kMagic = "tcpmax-journal";
constexpr std::string_view kVersion = "1";
constexpr std::string_view kPrefix = "journal.";
constexpr size_t kMaxJournalBytes = 1 << 20;

constexpr std::string_view kKindNames[] = {"sysctl", "netns", "route", "tun", "cgroup", "nft_table"};
constexpr std::string_view kOutcomeNames[] = {"undone", "already", "left_alone", "never_made", "failed"};

std::string Encode(std::string_view field) {
  if (field.empty()) return "-";
  if (field == "-") return "%2D";
  std::string out;
  for (unsigned char c : field) {
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      out += fmt::format("%{:02X}", c);
    } else {
      out.push_back(char(c));
    }
  }
  return out;
}

std::optional<std::string> Decode(std::string_view field) {
  if (field == "-") return std::string();
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '%') {
      out.push_back(field[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 3 > field.size()) return std::nullopt;
    auto [p, ec] = std::from_chars(field.data() + i + 1, field.data() + i + 3, v, 16);
    if (ec != std::errc() || p != field.data() + i + 3) return std::nullopt;
    out.push_back(char(v));
    i += 2;
  }
  return out;
}

std::vector<std::string_view> SplitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= line.size()) {
    size_t e = line.find(' ', i);
    if (e == std::string_view::npos) e = line.size();
    out.push_back(line.substr(i, e - i));
    i = e + 1;
  }
  return out;
}

template <typename T>
bool ParseUint(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Applies one decoded record to `info`. False when malformed.
bool ApplyRecord(const std::vector<std::string>& f, JournalInfo* info) {
  uint64_t id = 0;
  if (f.size() >= 2 && !ParseUint(f[1], &id)) return false;
  auto find = [&](uint64_t want) -> JournalEntry* {
    for (auto& e : info->entries) {
      if (e.id == want) return &e;
    }
    return nullptr;
  };
  if (f[0] == "change" && f.size() == 7) {
    auto kind = ParseKind(f[2]);
    if (!kind) return false;
    info->entries.push_back(JournalEntry{id, Change{*kind, f[3], f[4], f[5], f[6]}, std::nullopt, std::nullopt, ""});
    return true;
  }
  JournalEntry* e = find(id);
  if (e == nullptr) return false;
  if (f[0] == "applied" && f.size() == 3) {
    e->applied = f[2];
    return true;
  }
  if (f[0] == "settled" && f.size() == 4) {
    auto it = std::find(std::begin(kOutcomeNames), std::end(kOutcomeNames), f[2]);
    if (it == std::end(kOutcomeNames)) return false;
    e->settled = Outcome(it - std::begin(kOutcomeNames));
    e->note = f[3];
    return true;
  }
  return false;
}

// Opens (creating if missing) the run directory and checks it is ours alone.
Result<Fd> OpenRunDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir " + dir);
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + dir);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + dir);
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return ErrnoError(EPERM, fmt::format("{}: owned by uid {} with mode {:o}; tcpmax needs it owned by uid {} "
                                         "with no group or other access",
                                         dir, st.st_uid, st.st_mode & 07777, ::geteuid()));
  }
  return fd;
}

// Reads a journal file: regular, ours, at most 1 MiB, never through a link.
Result<std::string> ReadJournalFile(int dirfd, const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + path);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) return ErrnoError(EPERM, path + ": not a journal file");
  if (size_t(st.st_size) > kMaxJournalBytes) return ErrnoError(EFBIG, path + ": larger than 1 MiB");
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path);
    if (n == 0) break;
    got += size_t(n);
  }
  text.resize(got);
  return text;
}

std::vector<std::string> JournalNames(int dirfd) {
  std::vector<std::string> names;
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return names;
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return names;
  }
  while (dirent* ent = ::readdir(d)) {
    std::string_view n = ent->d_name;
    if (n.substr(0, kPrefix.size()) == kPrefix) names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<JournalInfo>> ListIn(int dirfd, const std::string& dir) {
  std::vector<JournalInfo> out;
  for (const std::string& name : JournalNames(dirfd)) {
    auto text = ReadJournalFile(dirfd, dir, name);
    auto info = text ? ParseJournal(*text) : Result<JournalInfo>(tl::unexpected(text.error()));
    if (!info) {
      // Unreadable: listed with the reason, never replayed, left in place.
      JournalInfo bad;
      bad.path = dir + "/" + name;
      bad.error = Printable(info.error().ToString(), 200);
      out.push_back(std::move(bad));
      continue;
    }
    info->path = dir + "/" + name;
    auto ticks = ProcessStartTicks(info->pid);
    info->live = ticks && *ticks == info->start_ticks;
    out.push_back(std::move(*info));
  }
  std::sort(out.begin(), out.end(), [](const JournalInfo& a, const JournalInfo& b) {
    return a.start_ticks < b.start_ticks;
  });
  return out;
}

void AppendTo(int dirfd, const std::string& name, const std::string& record) {
  Fd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return;
  if (::write(fd.get(), record.data(), record.size()) == ssize_t(record.size())) (void)::fsync(fd.get());
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Undoes the pending changes of the stale journals in `dir`, newest change
// first, newest run first; removes each journal left with nothing pending.
std::vector<UndoResult> ReplayStaleIn(int dirfd, const std::string& dir, const JournalNotify& notify) {
  std::vector<UndoResult> results;
  auto journals = ListIn(dirfd, dir);
  if (!journals) {
    if (notify) notify("cannot read the journals in " + dir + ": " + journals.error().ToString());
    return results;
  }
  for (auto it = journals->rbegin(); it != journals->rend(); ++it) {
    JournalInfo& j = *it;
    if (!j.error.empty()) {
      if (notify) notify("cannot read " + j.path + " (" + j.error + "): left in place; see tcpmax restore --list");
      continue;
    }
    if (j.live) continue;  // its run is going (this run has no journal yet)
    std::string name = BaseName(j.path);
    if (j.pending() > 0 && notify) {
      notify(fmt::format("found the journal of an earlier run that did not finish (pid {}, '{}', {}); undoing its "
                         "{} change(s) first",
                         j.pid, j.command, j.path, j.pending()));
    }
    size_t left = 0;
    for (auto e = j.entries.rbegin(); e != j.entries.rend(); ++e) {
      if (!e->pending()) continue;
      UndoResult r = UndoChange(e->change, e->applied);
      std::string record = EncodeRecord({"settled", std::to_string(e->id), std::string(OutcomeName(r.outcome)), r.note});
      AppendTo(dirfd, name, record);
      if (r.outcome == Outcome::kFailed) ++left;
      if (notify) notify("earlier run pid " + std::to_string(j.pid) + ": " + r.Describe());
      results.push_back(std::move(r));
    }
    if (left == 0) (void)::unlinkat(dirfd, name.c_str(), 0);
  }
  (void)::fsync(dirfd);
  return results;
}

// What a shared run, which may not replay, says about stale journals ("" if none).
std::string StaleWhileShared(int dirfd, const std::string& dir) {
  auto list = ListIn(dirfd, dir);
  if (!list) return {};
  size_t stale = 0;
  for (const JournalInfo& j : *list) stale += (j.error.empty() && !j.live && j.pending() > 0) ? 1 : 0;
  if (stale == 0) return {};
  return fmt::format("{} journal(s) of earlier runs that did not finish are in {}; another tcpmax run is active, "
                     "so they are left for now: run `tcpmax restore` when it has ended",
                     stale, dir);
}

std::string DescribeHolders(int dirfd, const std::string& dir) {
  std::vector<std::string> who;
  std::string ex = ExclusiveHolder(dirfd);
  if (!ex.empty()) who.push_back(ex);
  if (auto list = ListIn(dirfd, dir)) {
    for (const JournalInfo& j : *list) {
      std::string line = fmt::format("{} {}", j.pid, j.command);
      if (j.live && std::find(who.begin(), who.end(), line) == who.end()) who.push_back(line);
    }
  }
  if (who.empty()) return "another tcpmax run (pid unknown) is changing this system";
  std::string text;
  for (const std::string& w : who) {
    auto sp = w.find(' ');
    text += fmt::format("{}pid {} ('{}')", text.empty() ? "" : ", ", w.substr(0, sp),
                        sp == std::string::npos ? "" : w.substr(sp + 1));
  }
  return "another tcpmax run is changing this system: " + text + "; wait for it to end (or stop it)";
}

}  // namespace

std::string_view KindName(ChangeKind kind) { return kKindNames[size_t(kind)]; }

std::optional<ChangeKind> ParseKind(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) return ChangeKind(i);
  }
  return std::nullopt;
}

std::string_view OutcomeName(Outcome o) { return kOutcomeNames[size_t(o)]; }

std::string Change::Describe() const {
  std::string where = netns.empty() ? "" : " in netns " + netns;
  return fmt::format("{} {}{}", KindName(kind), key, where);
}

std::string UndoResult::Describe() const {
  std::string what = change.Describe();
  switch (outcome) {
    case Outcome::kUndone:
      return change.kind == ChangeKind::kSysctl ? what + ": restored to " + change.before : what + ": " + note;
    case Outcome::kAlready: return what + ": nothing to undo (" + note + ")";
    case Outcome::kLeftAlone: return what + ": NOT restored: " + note;
    case Outcome::kNeverMade: return what + ": never made";
    case Outcome::kFailed: return what + ": restore FAILED: " + note;
  }
  return what;
}

size_t JournalInfo::pending() const {
  return size_t(std::count_if(entries.begin(), entries.end(), [](const JournalEntry& e) { return e.pending(); }));
}

std::string EncodeRecord(const std::vector<std::string>& fields) {
  std::string line;
  for (const std::string& f : fields) {
    if (!line.empty()) line.push_back(' ');
    line += Encode(f);
  }
  line.push_back('\n');
  return line;
}

Result<JournalInfo> ParseJournal(std::string_view text) {
  JournalInfo info;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    // A last line without '\n' was being written when the run died: ignore it.
    if (nl == std::string_view::npos) break;
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    std::vector<std::string> f;
    for (std::string_view raw : SplitSpaces(line)) {
      auto d = Decode(raw);
      if (!d) return PlainError(fmt::format("line {}: bad escape", line_no));
      f.push_back(std::move(*d));
    }
    if (line_no == 1) {
      if (f.size() != 5 || f[0] != kMagic || f[1] != kVersion || !ParseUint(f[2], &info.pid) ||
          !ParseUint(f[3], &info.start_ticks)) {
        return PlainError("not a tcpmax journal (version 1)");
      }
      info.command = f[4];
      continue;
    }
    if (!ApplyRecord(f, &info)) return PlainError(fmt::format("line {}: malformed record", line_no));
  }
  if (line_no == 0) return PlainError("empty journal");
  return info;
}

std::optional<uint64_t> ProcessStartTicks(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = ReadWholeFile(fmt::format("/proc/{}/stat", pid));
  if (!text) return std::nullopt;
  // The command name (field 2) may hold spaces and ')': fields resume after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(*text).substr(close + 1);
  auto fields = SplitSpaces(Trim(rest));
  // rest starts at field 3 (state); field 22 is starttime. A zombie has
  // closed its files and released its locks: it counts as gone.
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return std::nullopt;
  uint64_t ticks = 0;
  if (!ParseUint(fields[19], &ticks)) return std::nullopt;
  return ticks;
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, LockMode mode, std::string command,
                                               JournalNotify notify) {
  auto dirfd = OpenRunDir(dir);
  if (!dirfd) return tl::unexpected(dirfd.error());
  // Stale journals are replayed under the exclusive lock only; a shared run
  // that finds other shared runs active leaves them for later.
  auto lock = RunLock::Acquire(dirfd->get(), dir, LockMode::kExclusive, command);
  if (!lock && lock.error().code == EBUSY && mode == LockMode::kShared) {
    lock = RunLock::Acquire(dirfd->get(), dir, LockMode::kShared, command);
  }
  if (!lock && lock.error().code == EBUSY) return ErrnoError(EBUSY, DescribeHolders(dirfd->get(), dir));
  if (!lock) return tl::unexpected(lock.error());
  std::unique_ptr<Journal> j(new Journal(dir, std::move(*dirfd), std::move(*lock), std::move(notify)));
  if (j->lock_.mode() == LockMode::kExclusive) {
    j->replayed_ = ReplayStaleIn(j->dirfd_.get(), dir, j->notify_);
  } else if (std::string note = StaleWhileShared(j->dirfd_.get(), dir); !note.empty() && j->notify_) {
    j->notify_(note);
  }
  if (mode == LockMode::kShared) {
    if (auto d = j->lock_.Downgrade(); !d) return ErrnoError(EBUSY, DescribeHolders(j->dirfd_.get(), dir));
  }
  j->owner_ = ::getpid();
  j->name_ = fmt::format("{}{}", kPrefix, j->owner_);
  j->path_ = dir + "/" + j->name_;
  auto ticks = ProcessStartTicks(j->owner_);
  if (!ticks) return PlainError("cannot read this process's start time from /proc/self/stat");
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC;
  int fd = ::openat(j->dirfd_.get(), j->name_.c_str(), flags, 0600);
  if (fd < 0 && errno == EEXIST) {
    // An old journal of a process that had our pid and kept a change it could
    // not undo: keep it under another name for `tcpmax restore`.
    std::string keep = fmt::format("{}.{}", j->name_, *ticks);
    if (::renameat(j->dirfd_.get(), j->name_.c_str(), j->dirfd_.get(), keep.c_str()) != 0) {
      return ErrnoError("rename " + j->path_);
    }
    fd = ::openat(j->dirfd_.get(), j->name_.c_str(), flags, 0600);
  }
  if (fd < 0) return ErrnoError("create " + j->path_);
  j->fd_.Reset(fd);
  if (auto r = j->Append({std::string(kMagic), std::string(kVersion), std::to_string(j->owner_),
                          std::to_string(*ticks), command});
      !r) {
    return tl::unexpected(r.error());
  }
  (void)::fsync(j->dirfd_.get());
  return j;
}

Journal::~Journal() {
  if (!fd_ || ::getpid() != owner_) return;  // a forked child owns nothing here
  UndoAll();
  std::lock_guard<std::mutex> g(mu_);
  bool pending = std::any_of(entries_.begin(), entries_.end(), [](const JournalEntry& e) { return e.pending(); });
  fd_.Reset();
  if (!pending) {
    (void)::unlinkat(dirfd_.get(), name_.c_str(), 0);
    (void)::fsync(dirfd_.get());
  }
}

Result<void> Journal::Append(const std::vector<std::string>& fields) {
  std::string record = EncodeRecord(fields);
  size_t done = 0;
  while (done < record.size()) {
    ssize_t n = ::write(fd_.get(), record.data() + done, record.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write " + path_);
    done += size_t(n);
  }
  if (::fdatasync(fd_.get()) != 0) return ErrnoError("fsync " + path_);
  return {};
}

Result<uint64_t> Journal::Record(const Change& c) {
  std::lock_guard<std::mutex> g(mu_);
  uint64_t id = next_id_++;
  auto r = Append({"change", std::to_string(id), std::string(KindName(c.kind)), c.netns, c.key, c.before, c.after});
  if (!r) return tl::unexpected(r.error());
  entries_.push_back(JournalEntry{id, c, std::nullopt, std::nullopt, ""});
  return id;
}

Result<void> Journal::Applied(uint64_t id, std::string_view value) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_) {
    if (e.id != id) continue;
    e.applied = std::string(value);
    return Append({"applied", std::to_string(id), std::string(value)});
  }
  return PlainError(fmt::format("journal {}: no change {}", path_, id));
}

void Journal::NeverMade(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_) {
    if (e.id != id) continue;
    e.settled = Outcome::kNeverMade;
    (void)Append({"settled", std::to_string(id), std::string(OutcomeName(Outcome::kNeverMade)), ""});
  }
}

UndoResult Journal::UndoLocked(JournalEntry& e) {
  UndoResult r = UndoChange(e.change, e.applied);
  e.settled = r.outcome;
  e.note = r.note;
  (void)Append({"settled", std::to_string(e.id), std::string(OutcomeName(r.outcome)), r.note});
  if ((r.outcome == Outcome::kLeftAlone || r.outcome == Outcome::kFailed) && notify_) notify_(r.Describe());
  return r;
}

UndoResult Journal::Undo(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto& e : entries_) {
    if (e.id != id) continue;
    if (!e.pending() || ::getpid() != owner_) {
      return UndoResult{e.change, e.settled.value_or(Outcome::kAlready), e.note};
    }
    return UndoLocked(e);
  }
  return UndoResult{Change{}, Outcome::kFailed, fmt::format("no change {} in {}", id, path_)};
}

std::vector<UndoResult> Journal::UndoAll() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<UndoResult> out;
  if (::getpid() != owner_) return out;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->pending()) out.push_back(UndoLocked(*it));
  }
  return out;
}

void Journal::TryUndoAll() {
  std::unique_lock<std::mutex> g(mu_, std::try_to_lock);
  if (!g.owns_lock() || ::getpid() != owner_) return;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->pending()) (void)UndoLocked(*it);
  }
}

Result<std::vector<JournalInfo>> ListJournals(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::vector<JournalInfo>{};
    return ErrnoError("open " + dir);
  }
  return ListIn(fd.get(), dir);
}

Result<std::vector<UndoResult>> RestoreStale(const std::string& dir, const JournalNotify& notify) {
  auto dirfd = OpenRunDir(dir);
  if (!dirfd) return tl::unexpected(dirfd.error());
  auto lock = RunLock::Acquire(dirfd->get(), dir, LockMode::kExclusive, "restore");
  if (!lock && lock.error().code == EBUSY) return ErrnoError(EBUSY, DescribeHolders(dirfd->get(), dir));
  if (!lock) return tl::unexpected(lock.error());
  return ReplayStaleIn(dirfd->get(), dir, notify);
}

}  // namespace tcpmax::sys

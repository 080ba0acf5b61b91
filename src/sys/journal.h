// The journal of system changes: everything tcpmax changes on a box is
// written down here *before* it is changed, so that whatever ends the run
// (a normal exit, an error, a signal, SIGKILL, the OOM killer, a crash) the
// change can be undone, by this run or by the next one (`tcpmax restore`).
//
// One file per run, /run/tcpmax/journal.<pid>: the directory is root-owned
// and 0700, the file is created with O_CREAT|O_EXCL|O_NOFOLLOW, and every
// record is fsync'd before the change it announces is made. A run that ends
// with every change undone removes its file; a file left behind whose run is
// gone (pid dead, or reused by another process) is *stale*.
//
// File format v1 (the one codec is EncodeRecord/ParseJournal below): one
// record a line, fields separated by one space, each field percent-encoded
// (bytes outside 0x21-0x7e, '%' and a field that is exactly "-" are %XX;
// an empty field is "-"):
//   tcpmax-journal 1 <pid> <start ticks of pid> <command>
//   change <id> <kind> <netns> <key> <before> <after>   written before the change
//   applied <id> <value>     after it: what the system now holds (read back)
//   settled <id> <outcome> <note>    undone, already back, left alone, never made
// A change without `settled` is pending: it is what a later run undoes.
//
// Undo rule: a value is put back only if it still holds what we wrote
// (`applied`); a value someone else changed since is left alone and reported.
//
// Locking: every run that changes the system holds the run lock (run_lock.h)
// in the same directory while its journal is open. Stale journals are
// replayed only under the exclusive lock.
// Thread-safety: a Journal is internally locked; the run journal functions
// may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fd.h"
#include "sys/run_lock.h"

namespace tcpmax::sys {

// Where run journals and the run lock live.
inline constexpr std::string_view kRunDir = "/run/tcpmax";

// What kind of thing was changed. New kinds (cgroup, nft_table) add a name
// here and an undo rule in undo.cc; the file format does not change.
enum class ChangeKind { kSysctl, kNetns, kRoute, kTun, kCgroup, kNftTable };
std::string_view KindName(ChangeKind kind);
std::optional<ChangeKind> ParseKind(std::string_view name);

// One change to the system.
//   sysctl: key "net.core.somaxconn"; before/after the values
//   netns:  key NAME; before "absent"; after the namespace identity (NetnsId)
//   route:  key "198.19.0.0/20 dev tmxl0" (as `ip route add` takes it)
//   tun:    key the device name; before "absent"
//   cgroup: key the group's directory; before "absent" (undo stops what runs
//           in it, which tcpmax started, and removes it)
//   nft_table: key "FAMILY NAME" ("inet tcpmax_1234"); before "absent";
//           applied the table's handle (undo deletes it only while the table
//           of that name still has that handle)
// `netns` names the namespace the change lives in ("" = the one tcpmax runs in).
struct Change {
  ChangeKind kind = ChangeKind::kSysctl;
  std::string netns;
  std::string key;
  std::string before;
  std::string after;
  // "sysctl fs.file-max", "sysctl net.ipv4.ip_forward in netns x", "netns x".
  std::string Describe() const;
};

// What undoing a change did.
enum class Outcome {
  kUndone,     // put back
  kAlready,    // it already held the old value (or is gone): nothing to do
  kLeftAlone,  // someone else changed it since: left as it is, reported
  kNeverMade,  // the change failed, nothing to undo
  kFailed,     // undoing failed (the note says why); still pending
};
std::string_view OutcomeName(Outcome o);

struct UndoResult {
  Change change;
  Outcome outcome = Outcome::kUndone;
  std::string note;  // for kLeftAlone/kFailed: why; for kUndone: what it holds now
  // "sysctl fs.file-max: restored to 2466170".
  std::string Describe() const;
};

// One change as read from a journal file.
struct JournalEntry {
  uint64_t id = 0;
  Change change;
  std::optional<std::string> applied;  // what the system held right after
  std::optional<Outcome> settled;
  std::string note;
  bool pending() const { return !settled.has_value() || *settled == Outcome::kFailed; }
};

// A journal file as read back.
struct JournalInfo {
  std::string path;
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  std::string command;
  bool live = false;  // its run is still going
  std::string error;  // set when the file could not be read or parsed (then nothing else is)
  std::vector<JournalEntry> entries;
  size_t pending() const;
};

// The codec: one record line (with '\n'), and a whole file's text.
std::string EncodeRecord(const std::vector<std::string>& fields);
Result<JournalInfo> ParseJournal(std::string_view text);

// Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22);
// with the pid it names one process for good. nullopt when there is none or
// it is a zombie (it has exited; only its parent has not reaped it yet).
std::optional<uint64_t> ProcessStartTicks(pid_t pid);

// Called with one line per event worth telling the user (stale journals
// replayed, values left alone). The CLI prints them; sys never does.
using JournalNotify = std::function<void(const std::string&)>;

class Journal {
 public:
  // Opens the journal of this process in `dir` (created 0700 if missing;
  // refused when not a directory owned by us with no group/other access).
  // Takes the run lock in `mode`; with the exclusive lock first undoes every
  // stale journal in `dir` (each undo reported through `notify`).
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir, LockMode mode, std::string command,
                                               JournalNotify notify);
  ~Journal();  // undoes what is still pending (UndoAll), removes the file
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes and fsyncs `c` before the caller makes the change; returns its id.
  Result<uint64_t> Record(const Change& c);
  // The change was made: the system now holds `value`.
  Result<void> Applied(uint64_t id, std::string_view value);
  // The change was not made (the write failed): nothing to undo.
  void NeverMade(uint64_t id);
  // Undoes change `id` now (by the undo rule) and records the outcome.
  UndoResult Undo(uint64_t id);
  // Undoes every pending change, newest first.
  std::vector<UndoResult> UndoAll();
  // Last resort from a terminate handler: UndoAll unless another thread is
  // inside the journal right now.
  void TryUndoAll();

  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }
  // What replaying stale journals did when this journal opened.
  const std::vector<UndoResult>& replayed() const { return replayed_; }

 private:
  Journal(std::string dir, Fd dirfd, RunLock lock, JournalNotify notify)
      : dir_(std::move(dir)), dirfd_(std::move(dirfd)), lock_(std::move(lock)), notify_(std::move(notify)) {}
  Result<void> Append(const std::vector<std::string>& fields);
  UndoResult UndoLocked(JournalEntry& e);

  std::string dir_;
  Fd dirfd_;
  RunLock lock_;
  JournalNotify notify_;
  std::string path_;
  std::string name_;
  Fd fd_;
  pid_t owner_ = 0;
  std::mutex mu_;
  std::vector<JournalEntry> entries_;
  std::vector<UndoResult> replayed_;
  uint64_t next_id_ = 1;
};

// Every journal file in `dir`, live and stale, oldest first.
Result<std::vector<JournalInfo>> ListJournals(const std::string& dir);
// Undoes the pending changes of every stale journal in `dir`, newest first,
// and removes the journals that have nothing left pending. Takes the
// exclusive run lock for the duration (refused, naming the holder, when a
// run is active).
Result<std::vector<UndoResult>> RestoreStale(const std::string& dir, const JournalNotify& notify);

}  // namespace tcpmax::sys

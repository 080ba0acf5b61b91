#include "sys/run_journal.h"

#include <cstdlib>
#include <memory>
#include <mutex>

namespace tcpmax::sys {

namespace {

struct RunState {
  std::mutex mu;
  std::unique_ptr<Journal> journal;
  std::string command = "tcpmax";
  JournalNotify notify;
  bool atexit_registered = false;
};

// Never destroyed: main() closes the journal explicitly, and an exit() from
// anywhere else reaches CloseRunJournal through atexit.
RunState& State() {
  static RunState* s = new RunState;
  return *s;
}

void CloseAtExit() { (void)CloseRunJournal(); }

}  // namespace

void ConfigureRunJournal(std::string command, JournalNotify notify) {
  std::lock_guard<std::mutex> g(State().mu);
  State().command = std::move(command);
  State().notify = std::move(notify);
}

Result<Journal*> RunJournal(LockMode mode) {
  RunState& s = State();
  std::lock_guard<std::mutex> g(s.mu);
  if (s.journal) return s.journal.get();
  auto j = Journal::Open(std::string(kRunDir), mode, s.command, s.notify);
  if (!j) return tl::unexpected(j.error());
  s.journal = std::move(*j);
  if (!s.atexit_registered) s.atexit_registered = std::atexit(CloseAtExit) == 0;
  return s.journal.get();
}

Journal* CurrentRunJournal() {
  std::lock_guard<std::mutex> g(State().mu);
  return State().journal.get();
}

std::vector<UndoResult> CloseRunJournal() {
  RunState& s = State();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.journal) return {};
  std::vector<UndoResult> out = s.journal->UndoAll();
  s.journal.reset();  // a forked child's destructor does nothing
  return out;
}

void EmergencyUndoRunJournal() {
  RunState& s = State();
  std::unique_lock<std::mutex> g(s.mu, std::try_to_lock);
  if (g.owns_lock() && s.journal) s.journal->TryUndoAll();
}

}  // namespace tcpmax::sys

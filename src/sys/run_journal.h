// The run journal: the one Journal (sys/journal.h) of this process, in
// /run/tcpmax, opened on first use by whatever changes the system first
// (probe::Tuning, the userland namespace setup, a SysctlGuard) and closed by
// main() on every way out, or by atexit after an exit() from anywhere.
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "sys/journal.h"

namespace tcpmax::sys {

// The process-wide journal of this run in kRunDir, opened on first use
// (RunJournal) by whatever changes the system first: probe::Tuning, the
// userland namespace setup, a SysctlGuard. `mode` matters on first use only.
Result<Journal*> RunJournal(LockMode mode);
// The run journal if one is open in this process, else nullptr.
Journal* CurrentRunJournal();
// What main() sets once: the command line recorded in the journal header,
// and where notices go.
void ConfigureRunJournal(std::string command, JournalNotify notify);
// Undoes what is still pending, removes the journal and releases the lock.
// main() calls it on every way out. Does nothing in a process other than the
// one that opened the journal (a forked child).
std::vector<UndoResult> CloseRunJournal();
// For a terminate handler or a fatal signal: best-effort undo, no locking wait.
void EmergencyUndoRunJournal();

}  // namespace tcpmax::sys

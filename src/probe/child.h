// Child: one `tcpmax serve` or `tcpmax load` shard run by the probe as a child
// process, speaking the --progress-json protocol on its stderr (one JSON object
// per line: {"type":"ready"|"progress"|"done",...}) and a --json summary on
// stdout at exit.
//
// The Child owns the process: its destructor sends SIGKILL to a child still
// running and reaps it, so no shard outlives the probe. Pipes are non-blocking;
// Poll() collects whole lines. Thread-safety: none (the probe's one thread).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::probe {

class Child {
 public:
  // Starts `binary args...` with stdout and stderr piped to us. The child is
  // put in its own process group so signals to the probe's terminal do not
  // reach it directly (the probe forwards them), and gets SIGKILL if the probe
  // dies (PR_SET_PDEATHSIG), and oom_score_adj 1000 so that, should memory
  // run out, the OOM killer picks a shard and nothing else.
  static Result<Child> Spawn(const std::string& binary, const std::vector<std::string>& args, std::string label);

  Child(Child&&) noexcept;
  Child& operator=(Child&&) noexcept;
  ~Child();

  // Reads what is available without blocking. Returns the JSON lines that
  // arrived complete; other stderr lines are kept in diagnostics().
  std::vector<nlohmann::json> Poll();
  // The stderr fd, for poll(2) by the caller.
  int stderr_fd() const { return err_.get(); }

  void Signal(int sig) const;
  // Waits up to `timeout_ms` for exit; sends SIGKILL after that. Drains the
  // pipes meanwhile. Returns the exit status (128+signal when killed).
  int Wait(int timeout_ms);
  // Non-blocking: true once the child has exited (and was reaped).
  bool Exited();

  pid_t pid() const { return pid_; }
  const std::string& label() const { return label_; }
  int exit_status() const { return status_; }
  // The JSON summary the child printed on stdout, if any (valid after exit).
  std::optional<nlohmann::json> Summary() const;
  // Non-JSON stderr lines (errors, warnings), newest last, at most 50.
  const std::vector<std::string>& diagnostics() const { return diagnostics_; }

 private:
  Child() = default;
  void Drain();

  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = -1;
  std::string label_;
  Fd out_, err_;
  std::string out_buf_, err_buf_;
  std::vector<nlohmann::json> pending_;
  std::vector<std::string> diagnostics_;
};

}  // namespace tcpmax::probe

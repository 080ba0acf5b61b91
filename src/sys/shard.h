// Shards: run one job in N forked child processes, with a typed channel each
// way (sys/shard_messages.h).
//
// Why: a process holds at most RLIMIT_NOFILE (hard) descriptors, 20000 here,
// so `tcpmax load` and `tcpmax probe` split their connections over processes.
// Each child runs `job(index, channel)`: it sends ShardReports up through
// channel.Send() and reads the supervisor's commands through the flags
// channel.stop_opening() and channel.stop() (a thread in the child reads the
// command pipe; the pipe's EOF, a dead supervisor, counts as kStop).
// The supervisor polls the report pipes (Poll), keeps each child's latest
// report per kind, and sends commands to all children (Command).
//
// Lifetime: Start() forks before the caller starts any thread (fork copies
// only the calling thread). A child exits with _exit(job's return value) and
// dies with its parent (PR_SET_PDEATHSIG SIGKILL) and closes every descriptor
// it inherited but stdio and its two pipes (so a shard's descriptor budget is
// its own, whatever the supervisor holds); with ShardOptions it also sets its
// CPU priority (so a supervisor sampling hundreds of busy shards on
// two cores keeps time) and offers itself to the OOM killer first.
// ~ShardSet kills and reaps children still running.
// Thread-safety: ShardSet belongs to one thread; ShardChannel's Send belongs
// to the child's job thread, its flags may be read from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "sys/shard_messages.h"

namespace tcpmax::sys {

// The child's end: reports up, commands down.
class ShardChannel {
 public:
  ShardChannel(int report_fd, int command_fd);
  ~ShardChannel();
  ShardChannel(const ShardChannel&) = delete;
  ShardChannel& operator=(const ShardChannel&) = delete;

  // Sends one report. False when the supervisor is gone.
  bool Send(const ShardReport& report);
  // Set by kStopOpening (and by kStop).
  const std::atomic<bool>& stop_opening() const { return stop_opening_; }
  // The opening rate's exponent: rate x 2^(pace/2). kSlower takes 2, kFaster
  // adds 1; within +-kMaxPace.
  const std::atomic<int>& pace() const { return pace_; }
  static constexpr int kMaxPace = 40;
  // Set by kStop, or when the supervisor's end of the command pipe closes.
  const std::atomic<bool>& stop() const { return stop_; }
  // kReport requests received so far; a job sends a kProgress report whose
  // `answers` is this count as soon as it changes.
  const std::atomic<uint64_t>& report_requests() const { return report_requests_; }

 private:
  void ReadCommands();

  int report_fd_;
  int command_fd_;
  std::atomic<bool> stop_opening_{false};
  std::atomic<int> pace_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> report_requests_{0};
  struct Reader;
  std::unique_ptr<Reader> reader_;
};

using ShardJob = std::function<int(int index, ShardChannel& channel)>;

struct ShardOptions {
  std::optional<int> nice;       // the child's nice value (absolute); unset: inherited
  bool prefer_oom_kill = false;  // oom_score_adj 1000 in the child
};

class ShardSet {
 public:
  // Forks `count` children (count >= 1) running `job`. On a fork or pipe
  // failure, children already started are killed and the error returned.
  static Result<std::unique_ptr<ShardSet>> Start(int count, const ShardJob& job, const ShardOptions& options = {});
  ~ShardSet();
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;

  // Reads the reports that arrived, waiting at most `timeout_ms` for the
  // first. Returns how many children still have their report pipe open.
  int Poll(int timeout_ms);
  // Sends `command` to every child still running.
  void Command(ShardCommand command);
  // Sends kReport and returns its number; Answered(n) is true once every
  // child still reporting sent a kProgress report answering it.
  uint64_t RequestReports();
  bool Answered(uint64_t request) const;
  // Sends `sig` to every child not yet reaped.
  void Signal(int sig);
  // Reads every pipe to EOF and reaps every child, waiting at most
  // `timeout_ms` in total, then SIGKILLs the rest. Returns each child's exit
  // code (128 + signal when it was killed by a signal).
  std::vector<int> Wait(int timeout_ms);

  int size() const { return static_cast<int>(shards_.size()); }
  pid_t pid(int shard) const { return shards_[shard].pid; }
  // True once the child closed its report pipe (it exited or is exiting).
  bool closed(int shard) const { return shards_[shard].fd < 0; }
  // The latest report of `kind` from `shard`; nullptr when none yet.
  const ShardReport* Latest(int shard, ShardKind kind) const;
  // Latest(i, kind) of every shard that sent one.
  std::vector<ShardReport> LatestAll(ShardKind kind) const;
  // Lines that did not decode (counted, with the last reason).
  int malformed_lines() const { return malformed_; }
  const std::string& last_malformed() const { return last_malformed_; }

 private:
  struct Shard {
    pid_t pid = -1;
    int fd = -1;          // report pipe, read end; -1 after EOF
    int command_fd = -1;  // command pipe, write end
    std::string partial;  // bytes after the last newline
    std::optional<ShardReport> latest[4];  // by ShardKind
    int exit_code = -1;   // set once reaped
  };
  ShardSet() = default;
  void ReadFrom(Shard& s);
  void TakeLines(Shard& s);
  void Reap(bool block);

  std::vector<Shard> shards_;
  uint64_t requests_ = 0;
  int malformed_ = 0;
  std::string last_malformed_;
};

}  // namespace tcpmax::sys

// Shards: run one job in P forked child processes and aggregate what they say.
//
// Why: a process can hold at most RLIMIT_NOFILE (hard) descriptors, 20000
// here; `tcpmax load --processes P` (and `serve`, `probe`) go past it by
// splitting the work over processes. Each child runs `job(index, writer)`
// and reports one JSON object per line through its own pipe (ShardWriter);
// the parent polls the pipes (ShardSet::Poll), keeps each child's latest
// line per "type" field, and sums them with SumJson.
//
// Lifetime: Start() forks before the caller starts any thread (fork copies
// only the calling thread). A child exits with _exit(job's return value),
// dies with the parent (PR_SET_PDEATHSIG SIGKILL), and inherits the
// parent's signal dispositions. ~ShardSet kills and reaps children still
// running. Thread-safety: ShardSet belongs to one thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace tcpmax::sys {

// The child's end of its pipe.
class ShardWriter {
 public:
  explicit ShardWriter(int fd) : fd_(fd) {}
  // Writes `line` as one compact JSON line. False when the parent is gone.
  bool Write(const nlohmann::json& line);

 private:
  int fd_;
};

using ShardJob = std::function<int(int index, ShardWriter& out)>;

class ShardSet {
 public:
  // Forks `count` children (count >= 1) running `job`. On a fork or pipe
  // failure, children already started are killed and the error returned.
  static Result<std::unique_ptr<ShardSet>> Start(int count, const ShardJob& job);
  ~ShardSet();
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;

  // Reads the lines that arrived, waiting at most `timeout_ms` for the
  // first. Returns how many children still have their pipe open.
  int Poll(int timeout_ms);
  // Sends `sig` to every child not yet reaped.
  void Signal(int sig);
  // Reads every pipe to EOF and reaps every child, waiting at most
  // `timeout_ms` in total, then SIGKILLs the rest. Returns each child's exit
  // code (128 + signal when it was killed by a signal).
  std::vector<int> Wait(int timeout_ms);

  int size() const { return static_cast<int>(shards_.size()); }
  pid_t pid(int shard) const { return shards_[shard].pid; }
  // The latest line whose "type" is `type` from `shard`; null when none yet.
  const nlohmann::json& Latest(int shard, std::string_view type) const;
  // Latest(i, type) of every shard that sent one.
  std::vector<nlohmann::json> LatestAll(std::string_view type) const;
  // Lines that were not a JSON object (counted, otherwise ignored).
  int malformed_lines() const { return malformed_; }

 private:
  struct Shard {
    pid_t pid = -1;
    int fd = -1;          // read end; -1 after EOF
    std::string partial;  // bytes after the last newline
    nlohmann::json latest = nlohmann::json::object();  // type -> line
    int exit_code = -1;   // set once reaped
  };
  ShardSet() = default;
  void ReadFrom(Shard& s);
  void TakeLines(Shard& s);
  void Reap(bool block);

  std::vector<Shard> shards_;
  int malformed_ = 0;
};

// Sums JSON objects field by field: numbers add up, except the keys in
// `max_keys` (elapsed time "t" by default) which take the maximum; nested
// objects (like "errors") are summed recursively; any other value (strings,
// arrays) is taken from the first object that has it.
nlohmann::json SumJson(const std::vector<nlohmann::json>& objects,
                       const std::vector<std::string>& max_keys = {"t"});

}  // namespace tcpmax::sys

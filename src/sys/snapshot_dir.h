// Recorded snapshots: a directory that replays a box's readings.
//
// Layout of a snapshot directory DIR:
//   DIR/proc/..., DIR/sys/...   the text of each file read, at its own path
//                               (DIR/proc/sys/fs/file-max, DIR/proc/meminfo...)
//   DIR/process                 what is not a file: one reading per line
//       rlimit_nofile <soft> <hard>     ("unlimited" for RLIM_INFINITY)
//       rlimit_nproc <soft> <hard>
//       cap_effective <hex mask>        (as CapEff in /proc/self/status)
//       address <ifname> <cidr> [loopback]
//       # comments and blank lines are ignored
// A file or line that is absent replays as ENOENT: a reading that was unknown
// on the recorded box stays unknown.
//
// A snapshot directory is untrusted input (it may come in a bug report):
// Open() refuses one holding anything but directories and regular files of
// at most 1 MiB (a symlink to /dev/zero or to a secret, a FIFO, a device),
// and every read goes through sys/safe_file.h (no link followed, no "..").
// Save() writes only into a new or empty directory, creating every file with
// O_CREAT|O_EXCL|O_NOFOLLOW, so links planted in DIR are never written through.
//
// RecordingReader wraps another Reader and remembers what was read; Save()
// writes it as a snapshot directory (`tcpmax limits --record DIR`).
// Thread-safety: SnapshotReader is immutable; RecordingReader is not
// thread-safe (it records).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/fd.h"
#include "sys/reader.h"

namespace tcpmax::sys {

class SnapshotReader final : public Reader {
 public:
  // Fails when `dir` is not a readable directory holding a `process` file.
  static Result<SnapshotReader> Open(std::string dir);

  Result<std::string> ReadFile(std::string_view path) const override;
  Result<Rlimit> GetRlimit(RlimitKind kind) const override;
  Result<uint64_t> EffectiveCapabilities() const override;
  Result<std::vector<LocalAddress>> LocalAddresses() const override;
  std::string Describe() const override { return "snapshot " + dir_; }

 private:
  SnapshotReader(std::string dir, Fd dirfd, std::map<std::string, std::string> process,
                 std::vector<LocalAddress> addrs)
      : dir_(std::move(dir)), dirfd_(std::move(dirfd)), process_(std::move(process)), addresses_(std::move(addrs)) {}
  Result<std::string> ProcessLine(const std::string& key) const;

  std::string dir_;
  Fd dirfd_;
  std::map<std::string, std::string> process_;  // key -> rest of the line
  std::vector<LocalAddress> addresses_;
};

class RecordingReader final : public Reader {
 public:
  explicit RecordingReader(const Reader& inner) : inner_(inner) {}

  Result<std::string> ReadFile(std::string_view path) const override;
  Result<Rlimit> GetRlimit(RlimitKind kind) const override;
  Result<uint64_t> EffectiveCapabilities() const override;
  Result<std::vector<LocalAddress>> LocalAddresses() const override;
  std::string Describe() const override { return inner_.Describe(); }

  // Writes every successful reading under `dir`, which must not exist or be
  // an empty directory of this user (refused otherwise).
  Result<void> Save(const std::string& dir) const;
  size_t files_recorded() const { return files_.size(); }

 private:
  const Reader& inner_;
  mutable std::map<std::string, std::string> files_;
  mutable std::map<RlimitKind, Rlimit> rlimits_;
  mutable std::optional<uint64_t> caps_;
  mutable std::optional<std::vector<LocalAddress>> addresses_;
};

}  // namespace tcpmax::sys

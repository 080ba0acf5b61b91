// Files in directories tcpmax does not trust: a snapshot directory someone
// sent (`limits --snapshot DIR`) and a directory to record into (`limits
// --record DIR`). Everything below DIR is reached with openat(2) one
// component at a time with O_NOFOLLOW, so a planted symlink is never
// followed; reads take regular files only (never a FIFO or a device), opened
// O_NONBLOCK and size-capped; writes create new files only (O_CREAT|O_EXCL).
// Thread-safety: reentrant (each call opens its own descriptors).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::sys {

// Per-file cap for snapshot readings (/proc/slabinfo is ~30 KiB).
inline constexpr size_t kMaxSnapshotFileBytes = 1 << 20;

// Opens directory `path` (following a symlink the user named, not below it).
Result<Fd> OpenDirectory(const std::string& path);

// Reads DIR/rel, a regular file of at most `cap` bytes. `rel` is a relative
// path of plain components: ".", ".." and a leading '/' are refused (EINVAL);
// "a//b" is "a/b".
Result<std::string> ReadFileBeneath(int dirfd, std::string_view rel, size_t cap = kMaxSnapshotFileBytes);

// Checks the whole tree below `dirfd`: only directories and regular files of
// at most `cap` bytes, at most 16 levels and 100,000 entries. The error names
// the first offending entry (relative path, printable).
Result<void> CheckTree(int dirfd, size_t cap = kMaxSnapshotFileBytes);

// Creates directory `path` (0755), or takes an existing one that is empty,
// a real directory (not a link) and owned by this user; refuses anything else.
Result<Fd> CreateFreshDirectory(const std::string& path);

// Opens directory `path`, creating it (0755, not its parents) when missing:
// a results directory that many processes share.
Result<Fd> OpenOrMakeDirectory(const std::string& path);

// Whether `name` (one component) exists in `dirfd` (a link counts).
bool ExistsBeneath(int dirfd, const std::string& name);

// Creates DIR/rel (0644) with its missing parent directories and writes
// `text`; refuses to follow a link or to replace an existing file.
Result<void> WriteNewFileBeneath(int dirfd, std::string_view rel, std::string_view text);

// `text` safe to show on a terminal and in JSON: printable ASCII kept,
// anything else (control bytes, escape sequences, bytes >= 0x80) as \xNN,
// cut to `max` bytes of input with "..." when longer.
std::string Printable(std::string_view text, size_t max = 64);

}  // namespace tcpmax::sys

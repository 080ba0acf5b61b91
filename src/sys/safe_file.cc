#include "sys/safe_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace tcpmax::sys {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kMaxEntries = 100'000;

// "proc/sys/fs/file-max" -> {"proc", "sys", "fs", "file-max"}; empty for a
// path with "." or ".." or a leading '/'.
std::vector<std::string> Components(std::string_view rel) {
  std::vector<std::string> out;
  if (rel.empty() || rel.front() == '/') return {};
  size_t i = 0;
  while (i <= rel.size()) {
    size_t e = rel.find('/', i);
    if (e == std::string_view::npos) e = rel.size();
    std::string_view c = rel.substr(i, e - i);
    if (c == "." || c == "..") return {};
    if (!c.empty()) out.emplace_back(c);  // "a//b" is "a/b"
    i = e + 1;
  }
  return out;
}

const char* TypeName(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Result<void> CheckTreeAt(int dirfd, const std::string& prefix, int depth, size_t cap, size_t* entries) {
  if (depth > kMaxDepth) return ErrnoError(ELOOP, Printable(prefix, 200) + ": nested too deep");
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return ErrnoError("open " + Printable(prefix, 200));
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    ::close(dup);
    return ErrnoError("read directory " + Printable(prefix, 200));
  }
  std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name == "." || name == "..") continue;
    if (++*entries > kMaxEntries) return ErrnoError(EFBIG, "more than 100,000 entries");
    std::string rel = prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
    struct stat st {};
    if (::fstatat(dirfd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + Printable(rel, 200));
    if (S_ISDIR(st.st_mode)) {
      Fd sub(::openat(dirfd, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return ErrnoError("open " + Printable(rel, 200));
      if (auto r = CheckTreeAt(sub.get(), rel, depth + 1, cap, entries); !r) return r;
    } else if (!S_ISREG(st.st_mode)) {
      return ErrnoError(EINVAL, fmt::format("{} is {}; a snapshot holds regular files and directories only",
                                            Printable(rel, 200), TypeName(st.st_mode)));
    } else if (size_t(st.st_size) > cap) {
      return ErrnoError(EFBIG, fmt::format("{} is {} bytes; a snapshot file holds at most {}", Printable(rel, 200),
                                           st.st_size, cap));
    }
  }
  return {};
}

// Opens (creating when `create`) each directory of `dirs` below `dirfd`.
Result<Fd> WalkDirs(int dirfd, const std::vector<std::string>& dirs, bool create) {
  Fd cur(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur) return ErrnoError("open directory");
  for (const std::string& c : dirs) {
    if (create && ::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError("mkdir " + Printable(c, 200));
    }
    Fd next(::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) return ErrnoError("open directory " + Printable(c, 200) + " (links are not followed)");
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

Result<Fd> OpenDirectory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError("open directory " + Printable(path, 200));
  return fd;
}

Result<std::string> ReadFileBeneath(int dirfd, std::string_view rel, size_t cap) {
  std::vector<std::string> parts = Components(rel);
  if (parts.empty()) return ErrnoError(EINVAL, fmt::format("'{}': not a plain relative path", Printable(rel, 200)));
  std::string leaf = parts.back();
  parts.pop_back();
  auto dir = WalkDirs(dirfd, parts, false);
  if (!dir) return ErrnoError(dir.error().code, Printable(rel, 200) + ": " + dir.error().context);
  Fd fd(::openat(dir->get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + Printable(rel, 200) + (errno == ELOOP ? " (a symbolic link)" : ""));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + Printable(rel, 200));
  if (!S_ISREG(st.st_mode)) {
    return ErrnoError(EINVAL, fmt::format("{} is {}", Printable(rel, 200), TypeName(st.st_mode)));
  }
  std::string text;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + Printable(rel, 200));
    if (n == 0) break;
    if (text.size() + size_t(n) > cap) {
      return ErrnoError(EFBIG, fmt::format("{}: larger than {} bytes", Printable(rel, 200), cap));
    }
    text.append(buf, size_t(n));
  }
  return text;
}

Result<void> CheckTree(int dirfd, size_t cap) {
  size_t entries = 0;
  return CheckTreeAt(dirfd, "", 0, cap, &entries);
}

Result<Fd> CreateFreshDirectory(const std::string& path) {
  std::string shown = Printable(path, 200);
  bool made = ::mkdir(path.c_str(), 0755) == 0;
  if (!made && errno != EEXIST) return ErrnoError("mkdir " + shown);
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError(errno, shown + ": not a directory tcpmax may write into (links are not followed)");
  if (made) return fd;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + shown);
  if (st.st_uid != ::geteuid()) {
    return ErrnoError(EPERM, fmt::format("{} exists and belongs to uid {}; give a new directory", shown, st.st_uid));
  }
  int dup = ::dup(fd.get());
  DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
  if (d == nullptr) return ErrnoError("read directory " + shown);
  bool empty = true;
  while (dirent* ent = ::readdir(d)) {
    std::string_view n = ent->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  if (!empty) return ErrnoError(ENOTEMPTY, shown + " exists and is not empty; give a new or empty directory");
  return fd;
}

Result<Fd> OpenOrMakeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir " + Printable(path, 200));
  return OpenDirectory(path);
}

bool ExistsBeneath(int dirfd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<void> WriteNewFileBeneath(int dirfd, std::string_view rel, std::string_view text) {
  std::vector<std::string> parts = Components(rel);
  if (parts.empty()) return ErrnoError(EINVAL, fmt::format("'{}': not a plain relative path", Printable(rel, 200)));
  std::string leaf = parts.back();
  parts.pop_back();
  auto dir = WalkDirs(dirfd, parts, true);
  if (!dir) return ErrnoError(dir.error().code, Printable(rel, 200) + ": " + dir.error().context);
  Fd fd(::openat(dir->get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return ErrnoError("create " + Printable(rel, 200));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write " + Printable(rel, 200));
    done += size_t(n);
  }
  return {};
}

std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(char(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace tcpmax::sys

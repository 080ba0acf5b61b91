#include "sys/process_facts.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "sys/reader.h"

namespace tcpmax::sys {
namespace {

std::string ProcPath(pid_t pid, std::string_view leaf) { return fmt::format("/proc/{}/{}", pid, leaf); }

uint64_t ToU64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// The value after "Key:" in /proc/PID/status, without unit.
std::string_view StatusField(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view v = Trim(line.substr(key.size() + 1));
      return v.substr(0, v.find_first_of(" \t"));
    }
    at = end + 1;
  }
  return {};
}

Result<std::string> ReadProc(pid_t pid, std::string_view leaf) {
  auto text = ReadWholeFile(ProcPath(pid, leaf));
  if (!text) return ErrnoError(text.error().code, fmt::format("process {}: read {}", pid, ProcPath(pid, leaf)));
  return text;
}

}  // namespace

Result<std::pair<uint64_t, uint64_t>> ParseNofileLimits(std::string_view text) {
  size_t at = text.find("Max open files");
  if (at == std::string_view::npos) return ErrnoError(EINVAL, "limits: no 'Max open files' row");
  std::string_view row = text.substr(at + std::strlen("Max open files"));
  row = row.substr(0, row.find('\n'));
  uint64_t values[2] = {0, 0};
  int n = 0;
  size_t i = 0;
  while (n < 2 && i < row.size()) {
    while (i < row.size() && (row[i] == ' ' || row[i] == '\t')) ++i;
    size_t j = i;
    while (j < row.size() && row[j] != ' ' && row[j] != '\t') ++j;
    std::string_view word = row.substr(i, j - i);
    if (word.empty()) break;
    if (word == "unlimited") {
      values[n++] = kUnlimited;
    } else {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
      if (ec != std::errc() || p != word.data() + word.size()) {
        return ErrnoError(EINVAL, fmt::format("limits: 'Max open files' value '{}' is not a number", word));
      }
      values[n++] = v;
    }
    i = j;
  }
  if (n < 2) return ErrnoError(EINVAL, "limits: 'Max open files' row has no soft and hard value");
  return std::pair{values[0], values[1]};
}

uint64_t ClockTicksPerSecond() {
  long t = ::sysconf(_SC_CLK_TCK);
  return t > 0 ? static_cast<uint64_t>(t) : 100;
}

Result<uint64_t> CountFds(pid_t pid) {
  std::string dir = ProcPath(pid, "fd");
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoError(fmt::format("process {}: stat {}", pid, dir));
  if (st.st_size > 0) return static_cast<uint64_t>(st.st_size);
  // Kernels before 6.2 report 0: count the entries.
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(fmt::format("process {}: open {}", pid, dir));
  uint64_t n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

Result<ProcessFacts> ReadProcessFacts(pid_t pid) {
  ProcessFacts f;
  f.pid = pid;
  auto status = ReadProc(pid, "status");
  if (!status) return tl::unexpected(status.error());
  f.ppid = static_cast<pid_t>(ToU64(StatusField(*status, "PPid")));
  f.uid = static_cast<uid_t>(ToU64(StatusField(*status, "Uid")));
  f.threads = ToU64(StatusField(*status, "Threads"));
  f.anon_bytes = ToU64(StatusField(*status, "RssAnon")) * 1024;
  auto comm = ReadProc(pid, "comm");
  if (!comm) return tl::unexpected(comm.error());
  f.comm = std::string(Trim(*comm));
  auto cmdline = ReadProc(pid, "cmdline");
  if (!cmdline) return tl::unexpected(cmdline.error());
  f.cmdline = *cmdline;
  while (!f.cmdline.empty() && f.cmdline.back() == '\0') f.cmdline.pop_back();
  std::replace(f.cmdline.begin(), f.cmdline.end(), '\0', ' ');
  auto limits = ReadProc(pid, "limits");
  if (!limits) return tl::unexpected(limits.error());
  auto nofile = ParseNofileLimits(*limits);
  if (!nofile) return ErrnoError(EINVAL, fmt::format("process {}: {}", pid, nofile.error().context));
  f.nofile_soft = nofile->first;
  f.nofile_hard = nofile->second;
  auto fds = CountFds(pid);
  if (!fds) return tl::unexpected(fds.error());
  f.fds = *fds;
  auto stat = ReadProc(pid, "stat");
  if (!stat) return tl::unexpected(stat.error());
  // Fields after the command name (which may hold spaces) start past ") ".
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return ErrnoError(EINVAL, fmt::format("process {}: malformed stat", pid));
  std::string_view rest = std::string_view(*stat).substr(close + 2);
  // rest fields: state(3) ppid(4) ... utime(14) stime(15): indices from 3.
  uint64_t field = 3;
  size_t i = 0;
  while (i < rest.size() && field <= 15) {
    size_t j = rest.find(' ', i);
    if (j == std::string_view::npos) j = rest.size();
    if (field == 14 || field == 15) f.cpu_ticks += ToU64(rest.substr(i, j - i));
    ++field;
    i = j + 1;
  }
  return f;
}

std::vector<pid_t> ProcessTree(pid_t root) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo = {root};
  while (!todo.empty() && out.size() < 100'000) {
    pid_t pid = todo.back();
    todo.pop_back();
    std::string taskdir = ProcPath(pid, "task");
    DIR* d = ::opendir(taskdir.c_str());
    if (d == nullptr) continue;  // gone
    out.push_back(pid);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto children = ReadWholeFile(fmt::format("{}/{}/children", taskdir, e->d_name));
      if (!children) continue;
      auto nums = ParseNumbers(Trim(*children));
      if (!nums) continue;
      for (uint64_t c : *nums) todo.push_back(static_cast<pid_t>(c));
    }
    ::closedir(d);
  }
  if (!out.empty()) std::sort(out.begin() + 1, out.end());
  return out;
}

Result<std::vector<uint64_t>> SocketInodes(pid_t pid) {
  std::string dir = ProcPath(pid, "fd");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError(fmt::format("process {}: open {}", pid, dir));
  std::vector<uint64_t> inodes;
  char target[64];
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    ssize_t n = ::readlinkat(::dirfd(d), e->d_name, target, sizeof target - 1);
    if (n <= 0) continue;  // closed meanwhile
    std::string_view t(target, static_cast<size_t>(n));
    if (t.size() < 9 || t.substr(0, 8) != "socket:[") continue;
    inodes.push_back(ToU64(t.substr(8, t.size() - 9)));
  }
  ::closedir(d);
  std::sort(inodes.begin(), inodes.end());
  return inodes;
}

std::vector<uint64_t> SocketInodes(const std::vector<pid_t>& pids) {
  std::vector<uint64_t> all;
  for (pid_t p : pids) {
    if (auto in = SocketInodes(p)) all.insert(all.end(), in->begin(), in->end());
  }
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace tcpmax::sys

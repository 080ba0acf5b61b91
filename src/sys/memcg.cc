#include "sys/memcg.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <thread>

#include <fmt/format.h>

#include "sys/cgroup.h"
#include "sys/reader.h"
#include "sys/run_journal.h"

namespace tcpmax::sys {
namespace {

constexpr std::string_view kV1Root = "/sys/fs/cgroup/memory";

bool Exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

// The unified hierarchy's root when it offers the memory controller.
std::optional<std::string> UnifiedMemoryRoot() {
  for (std::string root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    auto ctl = ReadWholeFile(root + "/cgroup.controllers");
    if (!ctl) continue;
    std::string_view c = *ctl;
    for (size_t at = 0; at < c.size();) {
      size_t end = c.find_first_of(" \n", at);
      if (end == std::string_view::npos) end = c.size();
      if (c.substr(at, end - at) == "memory") return root;
      at = end + 1;
    }
  }
  return std::nullopt;
}

Result<MemoryCgroup> FromProcCgroup(std::string_view text, std::string_view who) {
  CgroupPaths g = ParseProcCgroup(text);
  if (auto root = UnifiedMemoryRoot(); root && g.has_v2) return MemoryCgroup{2, *root + g.v2, g.v2, std::nullopt};
  if (g.has_memory_v1) {
    std::string path = g.memory_v1 == "/" ? "" : g.memory_v1;
    return MemoryCgroup{1, std::string(kV1Root) + path, g.memory_v1, std::nullopt};
  }
  return ErrnoError(ENOTSUP, fmt::format("{}: no memory control group (neither v1 nor v2 has the memory controller)", who));
}

std::optional<uint64_t> ReadNumber(const std::string& file) {
  auto text = ReadWholeFile(file);
  if (!text) return std::nullopt;
  std::string_view v = Trim(*text);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

// "key value" lines.
std::optional<uint64_t> StatValue(std::string_view text, std::string_view key) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      uint64_t n = 0;
      std::string_view v = line.substr(key.size() + 1);
      if (std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc()) return n;
    }
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

Result<MemoryCgroup> OwnMemoryCgroup() {
  auto text = ReadWholeFile("/proc/self/cgroup");
  if (!text) return tl::unexpected(text.error());
  return FromProcCgroup(*text, "this process");
}

Result<MemoryCgroup> MemoryCgroupOfPid(pid_t pid) {
  auto text = ReadWholeFile(fmt::format("/proc/{}/cgroup", pid));
  if (!text) return ErrnoError(text.error().code, fmt::format("process {}: read /proc/{}/cgroup", pid, pid));
  return FromProcCgroup(*text, fmt::format("process {}", pid));
}

Result<MemoryCgroup> MemoryCgroupAt(std::string_view user_path) {
  std::string p(user_path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty() || p.find("..") != std::string::npos) {
    return ErrnoError(EINVAL, fmt::format("--cgroup {}: not a control group path", user_path));
  }
  auto classify = [&](const std::string& dir, std::string rel) -> Result<MemoryCgroup> {
    if (Exists(dir + "/memory.current")) return MemoryCgroup{2, dir, rel.empty() ? "/" : rel, std::nullopt};
    if (Exists(dir + "/memory.usage_in_bytes")) return MemoryCgroup{1, dir, rel.empty() ? "/" : rel, std::nullopt};
    return ErrnoError(ENOTSUP, fmt::format("--cgroup {}: {} has no memory controller files", user_path, dir));
  };
  if (p.rfind("/sys/fs/cgroup", 0) == 0) {
    if (!Exists(p + "/cgroup.procs")) return ErrnoError(ENOENT, fmt::format("--cgroup {}: no such control group", user_path));
    std::string rel;
    if (p.rfind(std::string(kV1Root), 0) == 0) rel = p.substr(kV1Root.size());
    else if (auto root = UnifiedMemoryRoot(); root && p.rfind(*root, 0) == 0) rel = p.substr(root->size());
    return classify(p, rel);
  }
  if (p.front() != '/') p = "/" + p;
  if (auto root = UnifiedMemoryRoot(); root && Exists(*root + p + "/cgroup.procs")) return classify(*root + p, p);
  if (Exists(std::string(kV1Root) + p + "/cgroup.procs")) return classify(std::string(kV1Root) + p, p);
  return ErrnoError(ENOENT, fmt::format("--cgroup {}: no such memory control group (looked in the v2 and v1 hierarchies)", user_path));
}

Result<CgroupMemory> ReadCgroupMemory(const MemoryCgroup& g) {
  CgroupMemory m;
  if (g.version == 2) {
    auto cur = ReadNumber(g.dir + "/memory.current");
    if (!cur) return ErrnoError(EIO, fmt::format("read {}/memory.current", g.dir));
    m.usage = *cur;
    auto stat = ReadWholeFile(g.dir + "/memory.stat");
    if (!stat) return ErrnoError(stat.error().code, fmt::format("read {}/memory.stat", g.dir));
    m.kernel = StatValue(*stat, "kernel").value_or(0);
    m.sock = StatValue(*stat, "sock").value_or(0);
    m.limit = ReadNumber(g.dir + "/memory.max");
    return m;
  }
  auto usage = ReadNumber(g.dir + "/memory.usage_in_bytes");
  if (!usage) return ErrnoError(EIO, fmt::format("read {}/memory.usage_in_bytes", g.dir));
  m.usage = *usage;
  m.kernel = ReadNumber(g.dir + "/memory.kmem.usage_in_bytes").value_or(0);
  m.sock = ReadNumber(g.dir + "/memory.kmem.tcp.usage_in_bytes").value_or(0);
  auto limit = ReadNumber(g.dir + "/memory.limit_in_bytes");
  if (limit && *limit < kCgroupV1Unlimited) m.limit = limit;
  return m;
}

Result<std::vector<pid_t>> CgroupProcs(const MemoryCgroup& g) {
  auto text = ReadWholeFile(g.dir + "/cgroup.procs");
  if (!text) return ErrnoError(text.error().code, fmt::format("read {}/cgroup.procs", g.dir));
  auto nums = ParseNumbers(Trim(*text));
  if (!nums) return ErrnoError(EINVAL, fmt::format("{}/cgroup.procs: not a list of pids", g.dir));
  return std::vector<pid_t>(nums->begin(), nums->end());
}

Result<MemoryCgroup> CreateChildMemoryCgroup(const std::string& name) {
  auto own = OwnMemoryCgroup();
  if (!own) return tl::unexpected(own.error());
  MemoryCgroup g{own->version, own->dir + "/" + name, (own->path == "/" ? "" : own->path) + "/" + name, std::nullopt};
  auto journal = RunJournal(LockMode::kShared);
  if (!journal) return tl::unexpected(journal.error());
  auto id = (*journal)->Record(Change{ChangeKind::kCgroup, "", g.dir, "absent", "created"});
  if (!id) return tl::unexpected(id.error());
  if (::mkdir(g.dir.c_str(), 0755) != 0) {
    int err = errno;
    (*journal)->NeverMade(*id);
    return ErrnoError(err, fmt::format("create memory control group {}", g.dir));
  }
  (void)(*journal)->Applied(*id, "created");
  g.journal_id = *id;
  return g;
}

Result<void> MoveToCgroup(const MemoryCgroup& g, pid_t pid) {
  std::string file = g.dir + "/cgroup.procs";
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(fmt::format("move process {} into {}", pid, g.dir));
  std::string text = std::to_string(pid);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return ErrnoError(err, fmt::format("move process {} into {}", pid, g.dir));
  return {};
}

namespace {

// Sends `sig` to everything in `dir`; returns how many got it.
int SignalAll(const std::string& dir, int sig) {
  auto text = ReadWholeFile(dir + "/cgroup.procs");
  if (!text) return 0;
  auto nums = ParseNumbers(Trim(*text));
  if (!nums) return 0;
  int n = 0;
  for (uint64_t pid : *nums) n += ::kill(static_cast<pid_t>(pid), sig) == 0;
  return n;
}

bool WaitEmpty(const std::string& dir, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  for (;;) {
    auto text = ReadWholeFile(dir + "/cgroup.procs");
    if (!text || Trim(*text).empty()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<int> StopAndRemove(const std::string& dir, std::chrono::milliseconds grace) {
  int killed = 0;
  if (SignalAll(dir, SIGTERM) > 0 && !WaitEmpty(dir, grace)) {
    killed = SignalAll(dir, SIGKILL);
    if (!WaitEmpty(dir, std::chrono::seconds(5))) {
      return ErrnoError(EBUSY, fmt::format("remove {}: processes still in it after SIGKILL", dir));
    }
  }
  // An emptied group can stay busy for a moment while its last task exits.
  for (int attempt = 0;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return killed;
    if (errno != EBUSY || attempt >= 100) return ErrnoError(fmt::format("remove control group {}", dir));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<void> KillAndRemoveCgroupDir(const std::string& dir, std::chrono::milliseconds grace) {
  auto r = StopAndRemove(dir, grace);
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<int> RemoveMemoryCgroup(const MemoryCgroup& g, std::chrono::milliseconds grace) {
  auto r = StopAndRemove(g.dir, grace);
  if (!r) return r;
  if (g.journal_id) {
    if (Journal* j = CurrentRunJournal()) j->Undo(*g.journal_id);  // finds it gone: settles the entry
  }
  return r;
}

}  // namespace tcpmax::sys

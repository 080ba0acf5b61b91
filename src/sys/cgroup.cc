#include "sys/cgroup.h"

#include <sstream>
#include <vector>

#include "sys/sysctl.h"

namespace tcpmax::sys {
namespace {

// "/a/b" -> {"/a/b", "/a", ""}: the group and its ancestors, deepest first.
std::vector<std::string> SelfAndAncestors(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path != "/") {
    out.push_back(path);
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) break;
    path.resize(slash);
  }
  out.push_back("");
  return out;
}

// A limit file's value: a number, or "max" (v2) / a huge number (v1) = none.
std::optional<uint64_t> ReadLimit(const Reader& reader, const std::string& file, bool* found) {
  auto text = reader.ReadFile(file);
  if (!text) return std::nullopt;
  std::string_view v = Trim(*text);
  if (v == "max") {
    *found = true;
    return std::nullopt;
  }
  auto nums = ParseNumbers(v);
  if (!nums || nums->size() != 1) return std::nullopt;
  *found = true;
  if ((*nums)[0] >= kCgroupV1Unlimited) return std::nullopt;
  return (*nums)[0];
}

// The tightest limit over the group and its ancestors. `found` tells whether
// any file was readable at all.
std::optional<uint64_t> TightestLimit(const Reader& reader, const std::string& root, const std::string& path,
                                      const std::string& file, bool* found) {
  std::optional<uint64_t> best;
  for (const std::string& p : SelfAndAncestors(path)) {
    auto v = ReadLimit(reader, root + p + "/" + file, found);
    if (v && (!best || *v < *best)) best = v;
  }
  return best;
}

std::optional<uint64_t> ReadValue(const Reader& reader, const std::string& file) {
  auto text = reader.ReadFile(file);
  if (!text) return std::nullopt;
  auto nums = ParseNumbers(Trim(*text));
  if (!nums || nums->size() != 1) return std::nullopt;
  return (*nums)[0];
}

}  // namespace

CgroupPaths ParseProcCgroup(std::string_view text) {
  CgroupPaths g;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    // A group is an absolute path without "..": anything else (a corrupt or
    // hostile snapshot) is no group at all.
    if (path.empty() || path.front() != '/' || path.find("/..") != std::string::npos) continue;
    if (line.substr(0, a) == "0" && controllers.empty()) {
      g.v2 = path, g.has_v2 = true;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == "memory") g.memory_v1 = path, g.has_memory_v1 = true;
      if (name == "pids") g.pids_v1 = path, g.has_pids_v1 = true;
    }
  }
  return g;
}


Result<CgroupLimits> ReadCgroupLimits(const Reader& reader) {
  auto text = reader.ReadFile("/proc/self/cgroup");
  if (!text) return tl::unexpected(text.error());
  CgroupPaths g = ParseProcCgroup(*text);
  CgroupLimits out;
  bool found = false;
  if (g.has_memory_v1) {
    const std::string root = "/sys/fs/cgroup/memory";
    out.memory_max = TightestLimit(reader, root, g.memory_v1, "memory.limit_in_bytes", &found);
    if (found) {
      out.version = 1, out.path = g.memory_v1;
      out.memory_current = ReadValue(reader, root + g.memory_v1 + "/memory.usage_in_bytes");
    }
  }
  if (!found && g.has_v2) {
    bool hybrid = reader.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers").has_value();
    const std::string root = hybrid ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
    out.version = 2, out.path = g.v2;
    out.memory_max = TightestLimit(reader, root, g.v2, "memory.max", &found);
    out.memory_current = ReadValue(reader, root + g.v2 + "/memory.current");
    bool pids_found = false;
    out.pids_max = TightestLimit(reader, root, g.v2, "pids.max", &pids_found);
    out.pids_current = ReadValue(reader, root + g.v2 + "/pids.current");
  }
  if (g.has_pids_v1) {
    bool pids_found = false;
    auto v = TightestLimit(reader, "/sys/fs/cgroup/pids", g.pids_v1, "pids.max", &pids_found);
    if (pids_found) {
      out.pids_max = v;
      out.pids_current = ReadValue(reader, "/sys/fs/cgroup/pids" + g.pids_v1 + "/pids.current");
    }
  }
  if (out.version == 0) out.version = g.has_v2 ? 2 : 1, out.path = g.has_v2 ? g.v2 : g.memory_v1;
  return out;
}

}  // namespace tcpmax::sys

#include "sys/snapshot_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <sstream>

#include <fmt/format.h>

#include "sys/capabilities.h"
#include "sys/safe_file.h"

namespace tcpmax::sys {
namespace {

const char* RlimitKey(RlimitKind kind) { return kind == RlimitKind::kNofile ? "rlimit_nofile" : "rlimit_nproc"; }

std::string FormatLimit(uint64_t v) { return v == kUnlimited ? "unlimited" : std::to_string(v); }

Result<uint64_t> ParseLimit(const std::string& word) {
  if (word == "unlimited") return kUnlimited;
  auto nums = ParseNumbers(word);
  if (!nums || nums->size() != 1) return PlainError(fmt::format("'{}': expected a number or 'unlimited'", Printable(word)));
  return (*nums)[0];
}

}  // namespace

Result<SnapshotReader> SnapshotReader::Open(std::string dir) {
  std::string shown = Printable(dir, 200);
  auto dirfd = OpenDirectory(dir);
  if (!dirfd) return ErrnoError(dirfd.error().code, "snapshot directory " + shown);
  if (auto tree = CheckTree(dirfd->get()); !tree) {
    return ErrnoError(tree.error().code, "snapshot " + shown + ": " + tree.error().context);
  }
  auto text = ReadFileBeneath(dirfd->get(), "process");
  if (!text) return ErrnoError(text.error().code, "snapshot " + shown + ": " + text.error().context);
  std::map<std::string, std::string> process;
  std::vector<LocalAddress> addrs;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::istringstream fields{std::string(t)};
    std::string key, rest;
    fields >> key;
    std::getline(fields, rest);
    if (key == "address") {
      std::istringstream a(rest);
      LocalAddress addr;
      std::string flag;
      if (!(a >> addr.ifname >> addr.cidr)) {
        return PlainError(shown + "/process: malformed line '" + Printable(line) + "'");
      }
      addr.loopback = (a >> flag) && flag == "loopback";
      addrs.push_back(addr);
    } else {
      process[key] = std::string(Trim(rest));
    }
  }
  return SnapshotReader(std::move(dir), std::move(*dirfd), std::move(process), std::move(addrs));
}

Result<std::string> SnapshotReader::ReadFile(std::string_view path) const {
  if (path.empty() || path.front() != '/') return ErrnoError(EINVAL, fmt::format("'{}': not an absolute path", Printable(path)));
  auto text = ReadFileBeneath(dirfd_.get(), path.substr(1));
  if (!text) return ErrnoError(text.error().code, "snapshot " + Printable(dir_, 200) + ": " + text.error().context);
  return text;
}

Result<std::string> SnapshotReader::ProcessLine(const std::string& key) const {
  auto it = process_.find(key);
  if (it == process_.end()) return ErrnoError(ENOENT, dir_ + "/process: " + key);
  return it->second;
}

Result<Rlimit> SnapshotReader::GetRlimit(RlimitKind kind) const {
  auto line = ProcessLine(RlimitKey(kind));
  if (!line) return tl::unexpected(line.error());
  std::istringstream fields(*line);
  std::string soft, hard;
  fields >> soft >> hard;
  auto s = ParseLimit(soft), h = ParseLimit(hard);
  if (!s || !h) return PlainError(dir_ + "/process: " + RlimitKey(kind) + ": expected '<soft> <hard>'");
  return Rlimit{*s, *h};
}

Result<uint64_t> SnapshotReader::EffectiveCapabilities() const {
  auto line = ProcessLine("cap_effective");
  if (!line) return tl::unexpected(line.error());
  return ParseCapabilities(*line);
}

Result<std::vector<LocalAddress>> SnapshotReader::LocalAddresses() const {
  if (addresses_.empty()) return ErrnoError(ENOENT, dir_ + "/process: address");
  return addresses_;
}

Result<std::string> RecordingReader::ReadFile(std::string_view path) const {
  auto r = inner_.ReadFile(path);
  if (r) files_[std::string(path)] = *r;
  return r;
}

Result<Rlimit> RecordingReader::GetRlimit(RlimitKind kind) const {
  auto r = inner_.GetRlimit(kind);
  if (r) rlimits_[kind] = *r;
  return r;
}

Result<uint64_t> RecordingReader::EffectiveCapabilities() const {
  auto r = inner_.EffectiveCapabilities();
  if (r) caps_ = *r;
  return r;
}

Result<std::vector<LocalAddress>> RecordingReader::LocalAddresses() const {
  auto r = inner_.LocalAddresses();
  if (r) addresses_ = *r;
  return r;
}

Result<void> RecordingReader::Save(const std::string& dir) const {
  auto dirfd = CreateFreshDirectory(dir);
  if (!dirfd) return ErrnoError(dirfd.error().code, "--record: " + dirfd.error().context);
  for (const auto& [path, text] : files_) {
    std::string_view rel = path;
    while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
    if (auto w = WriteNewFileBeneath(dirfd->get(), rel, text); !w) {
      return ErrnoError(w.error().code, "--record " + Printable(dir, 200) + ": " + w.error().context);
    }
  }
  std::ostringstream p;
  p << "# tcpmax snapshot: readings that are not files (see src/sys/snapshot_dir.h)\n";
  for (const auto& [kind, rl] : rlimits_) {
    p << RlimitKey(kind) << ' ' << FormatLimit(rl.soft) << ' ' << FormatLimit(rl.hard) << '\n';
  }
  if (caps_) p << "cap_effective " << FormatCapabilities(*caps_) << '\n';
  if (addresses_) {
    for (const LocalAddress& a : *addresses_) {
      p << "address " << a.ifname << ' ' << a.cidr << (a.loopback ? " loopback" : "") << '\n';
    }
  }
  if (auto w = WriteNewFileBeneath(dirfd->get(), "process", p.str()); !w) {
    return ErrnoError(w.error().code, "--record " + Printable(dir, 200) + ": " + w.error().context);
  }
  return {};
}

}  // namespace tcpmax::sys

#include "sys/snapshot_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sys/capabilities.h"

namespace tcpmax::sys {
namespace {

const char* RlimitKey(RlimitKind kind) { return kind == RlimitKind::kNofile ? "rlimit_nofile" : "rlimit_nproc"; }

std::string FormatLimit(uint64_t v) { return v == kUnlimited ? "unlimited" : std::to_string(v); }

Result<uint64_t> ParseLimit(const std::string& word) {
  if (word == "unlimited") return kUnlimited;
  auto nums = ParseNumbers(word);
  if (!nums || nums->size() != 1) return PlainError("'" + word + "': expected a number or 'unlimited'");
  return (*nums)[0];
}

}  // namespace

Result<SnapshotReader> SnapshotReader::Open(std::string dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoError("snapshot directory " + dir);
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, "snapshot directory " + dir);
  auto text = ReadWholeFile(dir + "/process");
  if (!text) return tl::unexpected(text.error());
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
      if (!(a >> addr.ifname >> addr.cidr)) return PlainError(dir + "/process: malformed line '" + line + "'");
      addr.loopback = (a >> flag) && flag == "loopback";
      addrs.push_back(addr);
    } else {
      process[key] = std::string(Trim(rest));
    }
  }
  return SnapshotReader(std::move(dir), std::move(process), std::move(addrs));
}

Result<std::string> SnapshotReader::ReadFile(std::string_view path) const {
  return ReadWholeFile(dir_ + std::string(path));
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
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& [path, text] : files_) {
    fs::path target = fs::path(dir) / fs::path(path).relative_path();
    fs::create_directories(target.parent_path(), ec);
    if (ec) return ErrnoError(ec.value(), "create directory " + target.parent_path().string());
    std::ofstream out(target, std::ios::binary);
    if (!(out << text)) return ErrnoError("write " + target.string());
  }
  fs::create_directories(dir, ec);
  if (ec) return ErrnoError(ec.value(), "create directory " + dir);
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
  std::ofstream out(dir + "/process");
  if (!(out << p.str())) return ErrnoError("write " + dir + "/process");
  return {};
}

}  // namespace tcpmax::sys

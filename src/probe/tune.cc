#include "probe/tune.h"

#include <fmt/format.h>

#include "sys/file_nr.h"
#include "sys/run_journal.h"
#include "sys/reader.h"

namespace tcpmax::probe {
namespace {

// Raises `name` to `want` when its first number is lower. Returns false when
// the sysctl does not exist (e.g. conntrack not loaded).
Result<bool> RaiseTo(const sys::Reader& r, std::string_view name, uint64_t want, std::string value,
                     std::vector<sys::SysctlGuard>* guards, std::vector<std::string>* changes) {
  auto now = sys::ReadSysctl(r, name);
  if (!now) return now.error().code == ENOENT ? Result<bool>(false) : tl::unexpected(now.error());
  auto nums = sys::ParseNumbers(*now);
  if (nums && !nums->empty() && nums->front() >= want) return true;
  auto g = sys::SysctlGuard::Set(name, value);
  if (!g) return tl::unexpected(g.error());
  changes->push_back(fmt::format("{}: {} -> {}", name, *now, value));
  guards->push_back(std::move(*g));
  return true;
}

}  // namespace

Result<Tuning> Tuning::Apply(uint64_t target) {
  // Takes the run lock (refused, naming the holder, while another run changes
  // the system) and undoes what an earlier run left changed, before reading
  // the values this run will treat as the originals.
  auto journal = sys::RunJournal(sys::LockMode::kExclusive);
  if (!journal) return tl::unexpected(journal.error());
  sys::LiveReader r;
  Tuning t;
  uint64_t in_use = 0;
  if (auto nr = sys::ReadFileNr(r)) in_use = nr->allocated;
  uint64_t files = in_use + 2 * target + target / 5 + 100'000;
  struct Want {
    std::string_view name;
    uint64_t first;
    std::string value;
  };
  const Want wants[] = {
      {"fs.file-max", files, std::to_string(files)},
      {"net.core.somaxconn", 65535, "65535"},
      {"net.ipv4.tcp_max_syn_backlog", 65535, "65535"},
      {"net.netfilter.nf_conntrack_max", 2 * target + 100'000, std::to_string(2 * target + 100'000)},
      // Both ends on this box, each watched by epoll: two watches per connection.
      {"fs.epoll.max_user_watches", 2 * target + 100'000, std::to_string(2 * target + 100'000)},
  };
  for (const Want& w : wants) {
    auto ok = RaiseTo(r, w.name, w.first, w.value, &t.guards_, &t.changes_);
    if (!ok) return tl::unexpected(ok.error());
  }
  // The port range is two numbers: widen it when it is narrower than 1024-65535.
  auto range = sys::ReadSysctlNumbers(r, "net.ipv4.ip_local_port_range");
  if (range && range->size() == 2 && ((*range)[0] > 1024 || (*range)[1] < 65535)) {
    auto g = sys::SysctlGuard::Set("net.ipv4.ip_local_port_range", "1024 65535");
    if (!g) return tl::unexpected(g.error());
    t.changes_.push_back(fmt::format("net.ipv4.ip_local_port_range: {} {} -> 1024 65535", (*range)[0], (*range)[1]));
    t.guards_.push_back(std::move(*g));
  }
  return t;
}

std::vector<std::string> Tuning::Restore() {
  std::vector<std::string> lines;
  // Restore in reverse order of change.
  for (auto it = guards_.rbegin(); it != guards_.rend(); ++it) {
    auto r = it->Restore();
    if (r) {
      lines.push_back(fmt::format("{}: restored to {}", it->name(), it->old_value()));
    } else {
      lines.push_back(fmt::format("{}: NOT restored: {}", it->name(), r.error().ToString()));
    }
  }
  guards_.clear();
  return lines;
}

}  // namespace tcpmax::probe

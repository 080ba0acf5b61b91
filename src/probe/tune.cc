#include "probe/tune.h"

#include <fmt/format.h>

#include "sys/file_nr.h"
#include "sys/run_journal.h"

namespace tcpmax::probe {

Result<std::vector<Setting>> Tuning::Wanted(uint64_t target, const sys::Reader& r) {
  uint64_t in_use = 0;
  if (auto nr = sys::ReadFileNr(r)) in_use = nr->allocated;
  uint64_t files = in_use + 2 * target + target / 5 + 100'000;
  struct Want {
    std::string_view name;
    uint64_t first;
  };
  const Want wants[] = {
      {"fs.file-max", files},
      {"net.core.somaxconn", 65535},
      {"net.ipv4.tcp_max_syn_backlog", 65535},
      {"net.netfilter.nf_conntrack_max", 2 * target + 100'000},
      // Both ends on this box, each watched by epoll: two watches per connection.
      {"fs.epoll.max_user_watches", 2 * target + 100'000},
  };
  std::vector<Setting> out;
  for (const Want& w : wants) {
    auto now = sys::ReadSysctl(r, w.name);
    if (!now && now.error().code == ENOENT) continue;  // e.g. conntrack not loaded
    if (!now) return tl::unexpected(now.error());
    auto nums = sys::ParseNumbers(*now);
    if (nums && !nums->empty() && nums->front() >= w.first) continue;
    out.push_back({std::string(w.name), *now, std::to_string(w.first)});
  }
  // The port range is two numbers: widen it when it is narrower than 1024-65535.
  auto range = sys::ReadSysctlNumbers(r, "net.ipv4.ip_local_port_range");
  if (range && range->size() == 2 && ((*range)[0] > 1024 || (*range)[1] < 65535)) {
    out.push_back({"net.ipv4.ip_local_port_range", fmt::format("{} {}", (*range)[0], (*range)[1]), "1024 65535"});
  }
  return out;
}

Result<Tuning> Tuning::Apply(const std::vector<Setting>& settings) {
  // Takes the run lock (refused, naming the holder, while another run changes
  // the system) and undoes what an earlier run left changed.
  auto journal = sys::RunJournal(sys::LockMode::kExclusive);
  if (!journal) return tl::unexpected(journal.error());
  Tuning t;
  for (const Setting& s : settings) {
    auto g = sys::SysctlGuard::Set(s.name, s.value);
    if (!g) return tl::unexpected(g.error());
    t.changes_.push_back(fmt::format("{}: {} -> {}", s.name, g->old_value(), s.value));
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

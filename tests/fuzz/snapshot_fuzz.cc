// libFuzzer target over everything `limits --snapshot DIR` decodes from a
// directory someone sent: /proc and /sys file texts (meminfo, slabinfo,
// sockstat, sysctls, file-nr, /proc/self/cgroup and the cgroup files it
// leads to), the `process` file (rlimits, capabilities, addresses), then the
// model, the text, explain and JSON renderers, and a `--set` what-if. An
// in-memory Reader serves the fuzzed texts (sys/reader.h), so no file is
// touched. Built by tests/fuzz/CMakeLists.txt with clang++ and sanitizers.
//
// Input: records of [path index byte][2-byte big-endian length][text]; path
// index 0xff is a `--set KEY=VALUE` text, 0xfe the `process` file. Any cgroup
// file (/sys/fs/cgroup/...) not given explicitly gets the text of the last
// record with index 0xfd. Invariants: no crash, no UB, no exception out of
// the renderers, the JSON dump (replace handler) always succeeds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "limits/ceiling.h"
#include "report/limits.h"
#include "limits/snapshot.h"
#include "sys/reader.h"
#include "sys/snapshot_dir.h"

namespace {

using namespace tcpmax;

constexpr const char* kPaths[] = {
    "/proc/meminfo", "/proc/slabinfo", "/proc/net/sockstat", "/proc/self/cgroup", "/proc/sys/fs/file-nr",
    "/proc/sys/fs/file-max", "/proc/sys/fs/nr_open", "/proc/sys/fs/epoll/max_user_watches",
    "/proc/sys/kernel/pid_max", "/proc/sys/kernel/threads-max", "/proc/sys/net/core/somaxconn",
    "/proc/sys/net/ipv4/ip_local_port_range", "/proc/sys/net/ipv4/ip_local_reserved_ports",
    "/proc/sys/net/ipv4/tcp_mem", "/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem",
    "/proc/sys/net/ipv4/tcp_max_orphans", "/proc/sys/net/ipv4/tcp_max_tw_buckets",
    "/proc/sys/net/ipv4/tcp_ehash_entries", "/proc/sys/net/ipv4/tcp_max_syn_backlog",
    "/proc/sys/net/netfilter/nf_conntrack_max", "/proc/sys/net/netfilter/nf_conntrack_count",
    "/proc/sys/net/netfilter/nf_conntrack_buckets", "/sys/fs/cgroup/unified/cgroup.controllers",
};
constexpr size_t kNumPaths = sizeof(kPaths) / sizeof(kPaths[0]);

class FuzzReader final : public sys::Reader {
 public:
  std::map<std::string, std::string, std::less<>> files;
  std::string any_cgroup;
  bool have_any_cgroup = false;
  sys::SnapshotReader* process = nullptr;  // unused; the process readings below
  sys::Rlimit nofile{1024, 4096}, nproc{1000, 1000};
  uint64_t caps = 0;

  Result<std::string> ReadFile(std::string_view path) const override {
    auto it = files.find(path);
    if (it != files.end()) return it->second;
    if (have_any_cgroup && path.substr(0, 14) == "/sys/fs/cgroup") return any_cgroup;
    return ErrnoError(ENOENT, std::string(path));
  }
  Result<sys::Rlimit> GetRlimit(sys::RlimitKind kind) const override {
    return kind == sys::RlimitKind::kNofile ? nofile : nproc;
  }
  Result<uint64_t> EffectiveCapabilities() const override { return caps; }
  Result<std::vector<sys::LocalAddress>> LocalAddresses() const override {
    return std::vector<sys::LocalAddress>{{"lo", "127.0.0.1/8", true}};
  }
  std::string Describe() const override { return "fuzz"; }
};

void Check(bool ok) {
  if (!ok) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzReader reader;
  std::vector<std::string> settings;
  size_t i = 0;
  uint64_t scenario_bits = 0;
  while (i + 3 <= size) {
    uint8_t idx = data[i];
    size_t len = (size_t(data[i + 1]) << 8) | data[i + 2];
    i += 3;
    len = std::min(len, size - i);
    std::string text(reinterpret_cast<const char*>(data + i), len);
    i += len;
    if (idx == 0xff) {
      settings.push_back(text);
    } else if (idx == 0xfd) {
      reader.any_cgroup = text, reader.have_any_cgroup = true;
    } else if (idx == 0xfc) {
      for (char c : text) scenario_bits = scenario_bits * 131 + uint8_t(c);
    } else if (idx == 0xfb && len >= 8) {
      uint64_t v = 0;
      for (size_t k = 0; k < 8; ++k) v = (v << 8) | uint8_t(text[k]);
      reader.nofile = {v >> 40, v & 0xffffffffffull};
      reader.caps = v;
    } else {
      reader.files[kPaths[idx % kNumPaths]] = text;
    }
  }
  limits::Snapshot snap = limits::ReadSnapshot(reader);
  for (const std::string& s : settings) {
    auto kv = limits::ParseSetting(s);
    if (kv) (void)limits::ApplySetting(snap, kv->first, kv->second);
  }
  limits::Scenario sc;
  sc.listen_ports = 1 + scenario_bits % 70000;
  sc.processes = 1 + (scenario_bits >> 17) % 1000;
  sc.destinations = 1 + (scenario_bits >> 27) % 100000;
  sc.source_ips = 1 + (scenario_bits >> 44) % 300;
  sc.loopback = scenario_bits & 1;
  sc.ipv6 = scenario_bits & 2;
  sc.thread_per_connection = scenario_bits & 4;
  sc.epoll = !(scenario_bits & 8);
  limits::Ceiling c = limits::ComputeCeiling(snap, sc);
  std::string text = report::LimitsText(c);
  std::string explain = report::LimitsExplain(c);
  std::string json = report::LimitsJson(c).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  Check(!json.empty());
  return 0;
}

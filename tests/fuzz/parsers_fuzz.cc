// libFuzzer target over the text parsers users feed tcpmax: units (counts,
// sizes, durations, rates, percents), addresses, CIDR ranges, endpoints and
// port ranges (src/core/), the journal codec (src/sys/journal.h), and what
// probe --server reads of other processes and the box: /proc/PID/limits,
// /proc/net/netstat and snmp, an nginx configuration. Built
// by tests/fuzz/CMakeLists.txt with clang++ -fsanitize=fuzzer,address,undefined.
//
// Input: byte 0 picks the parser, the rest is the text. Invariants checked:
// no crash or UB; a count/size parsed is at most 2^63 - 1; a parsed CIDR's
// base is inside itself; a parsed port range is ordered; a journal that
// parses re-encodes to a journal that parses to the same changes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/address.h"
#include "core/units.h"
#include "probe/server_config.h"
#include "sys/journal.h"
#include "sys/netstat.h"
#include "sys/process_facts.h"

namespace {

using namespace tcpmax;

void Check(bool ok) {
  if (!ok) abort();
}

void Journal(std::string_view text) {
  auto info = sys::ParseJournal(text);
  if (!info) return;
  std::string again = sys::EncodeRecord({"tcpmax-journal", "1", std::to_string(info->pid),
                                         std::to_string(info->start_ticks), info->command});
  for (const auto& e : info->entries) {
    const sys::Change& c = e.change;
    again += sys::EncodeRecord({"change", std::to_string(e.id), std::string(sys::KindName(c.kind)), c.netns, c.key,
                                c.before, c.after});
  }
  auto back = sys::ParseJournal(again);
  Check(back.has_value());
  Check(back->entries.size() == info->entries.size());
  for (size_t i = 0; i < back->entries.size(); ++i) {
    Check(back->entries[i].change.key == info->entries[i].change.key);
    Check(back->entries[i].change.before == info->entries[i].change.before);
  }
  Check(back->command == info->command);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr uint64_t kMax = uint64_t(INT64_MAX);
  switch (data[0] % 13) {
    case 0:
      if (auto n = ParseCount(text)) Check(*n <= kMax);
      break;
    case 1:
      if (auto n = ParseBytes(text)) Check(*n <= kMax);
      break;
    case 2:
      if (auto d = ParseDuration(text)) Check(d->count() >= 0);
      break;
    case 3:
      if (auto r = ParseRate(text)) Check(*r >= 0);
      (void)ParsePercent(text);
      break;
    case 4:
      (void)ParseIp(text);
      break;
    case 5:
      if (auto c = ParseCidr(text)) {
        Check(c->Contains(c->base));
        Check(c->Size() >= 1);
        (void)c->ToString();
      }
      break;
    case 6:
      (void)ParseCidrs(text);
      break;
    case 7:
      (void)ParseEndpoint(text, 80);
      (void)ParseEndpoints(text);
      break;
    case 8:
      if (auto p = ParsePortRanges(text)) {
        for (const auto& r : *p) Check(r.lo <= r.hi);
      }
      break;
    case 9:
      Journal(text);
      break;
    case 10:
      if (auto c = sys::ParseNetCounters(text)) {
        for (const auto& [k, v] : *c) Check(k.find('.') != std::string::npos);
      }
      break;
    case 11:
      if (auto l = sys::ParseNofileLimits(text)) (void)l->first;
      break;
    case 12: {
      probe::ServerKind k = probe::ParseNginxConfig(text);
      Check(k.settings.count("worker_connections") == 1);
      break;
    }
  }
  return 0;
}

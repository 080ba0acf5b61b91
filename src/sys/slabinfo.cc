#include "sys/slabinfo.h"

#include <sstream>

namespace tcpmax::sys {

Result<Slabinfo> ParseSlabinfo(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  if (!std::getline(in, line) || line.rfind("slabinfo - version: 2.", 0) != 0) {
    return PlainError("/proc/slabinfo: expected 'slabinfo - version: 2.x' as the first line");
  }
  Slabinfo caches;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    SlabCache c;
    if (!(fields >> name >> c.active_objs >> c.num_objs >> c.objsize >> c.objperslab >> c.pagesperslab)) {
      return PlainError("/proc/slabinfo: malformed line '" + line + "'");
    }
    caches[name] = c;
  }
  return caches;
}

Result<Slabinfo> ReadSlabinfo(const Reader& reader) {
  auto text = reader.ReadFile("/proc/slabinfo");
  if (!text) return tl::unexpected(text.error());
  return ParseSlabinfo(*text);
}

uint64_t SocketSlabBytes(const Slabinfo& slab) {
  uint64_t total = 0;
  for (std::string_view name : kSocketCaches) {
    auto it = slab.find(name);
    if (it != slab.end()) total += it->second.active_objs * it->second.objsize;
  }
  return total;
}

uint64_t ObjectSize(const Slabinfo& slab, std::string_view cache) {
  auto it = slab.find(cache);
  return it == slab.end() ? 0 : it->second.objsize;
}

}  // namespace tcpmax::sys

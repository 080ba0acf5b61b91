#include "sys/sockstat.h"

#include <sstream>
#include <string>

namespace tcpmax::sys {

Result<Sockstat> ParseSockstat(std::string_view text) {
  Sockstat s;
  bool saw_tcp = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string head;
    fields >> head;
    std::string key;
    uint64_t value = 0;
    while (fields >> key >> value) {
      if (head == "sockets:" && key == "used") s.sockets_used = value;
      if (head != "TCP:") continue;
      saw_tcp = true;
      if (key == "inuse") s.tcp_inuse = value;
      else if (key == "orphan") s.tcp_orphan = value;
      else if (key == "tw") s.tcp_tw = value;
      else if (key == "alloc") s.tcp_alloc = value;
      else if (key == "mem") s.tcp_mem_pages = value;
    }
  }
  if (!saw_tcp) return PlainError("/proc/net/sockstat: no 'TCP:' line");
  return s;
}

Result<Sockstat> ReadSockstat(const Reader& reader) {
  auto text = reader.ReadFile("/proc/net/sockstat");
  if (!text) return tl::unexpected(text.error());
  return ParseSockstat(*text);
}

}  // namespace tcpmax::sys

// The TCP extension counters of /proc/net/netstat (and /proc/net/snmp's Tcp
// row): what tells a listen queue that overflowed from a server that closes
// connections. Keys are "TcpExt.ListenOverflows", "Tcp.ActiveOpens".
// Counters are per network namespace, since boot; callers difference them.
// Thread-safety: pure functions over a Reader.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "sys/reader.h"

namespace tcpmax::sys {

using NetCounters = std::map<std::string, uint64_t, std::less<>>;

// Parses the "Prefix: names" / "Prefix: values" line pairs of netstat or snmp.
Result<NetCounters> ParseNetCounters(std::string_view text);
// /proc/net/netstat and /proc/net/snmp together.
Result<NetCounters> ReadNetCounters(const Reader& reader);
// counters[key] or 0.
uint64_t Counter(const NetCounters& counters, std::string_view key);

}  // namespace tcpmax::sys

// count_bare_dump: the floor for `tcpmax count`. Asks the kernel for an
// inet_diag dump of every TCP socket, all states, with a bytecode program
// that rejects every socket: the kernel walks its tables and sends nothing
// back. Prints the sockets received (0 expected).
//   count_bare_dump               one walk for both families (what tcpmax count does)
//   count_bare_dump --per-family  one v2 walk per family (what ss does)
#include <sys/socket.h>

#include <cstdio>
#include <string>
#include <vector>

#include "diag/bytecode.h"
#include "diag/dump_source.h"
#include "diag/netlink_dump.h"
#include "diag/tally.h"

int main(int argc, char** argv) {
  bool per_family = argc > 1 && std::string(argv[1]) == "--per-family";
  using namespace tcpmax::diag;
  auto src = NetlinkSource::Open();
  if (!src) {
    std::fprintf(stderr, "count_bare_dump: %s\n", src.error().ToString().c_str());
    return 1;
  }
  std::vector<uint8_t> reject = RejectAllBytecode();
  Tally tally{Query{}};
  uint64_t messages = 0;
  std::vector<int> families = {AF_UNSPEC};
  if (per_family) families = {AF_INET, AF_INET6};
  for (int family : families) {
    auto st = RunDump(**src, family, kAllStates, reject, tally);
    if (!st) {
      std::fprintf(stderr, "count_bare_dump: %s\n", st.error().ToString().c_str());
      return 1;
    }
    messages += st->messages;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(messages));
  return 0;
}

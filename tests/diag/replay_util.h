// Shared by diag tests: the recorded socket mix (tests/data/netlink/mix.*,
// made by tests/data/netlink/make_mix.py with base port 7000) and its sockets
// decoded once for tests that need them one by one.
#pragma once

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "diag/sock_view.h"

namespace tcpmax::diag::testing {

inline std::string DataPath(const std::string& name) { return std::string(TCPMAX_TEST_DATA) + "/netlink/" + name; }

// A socket with its own address storage.
struct OwnedSock {
  uint8_t family, state;
  uint16_t sport, dport;
  uint8_t saddr[16], daddr[16];
  SockView View() const { return SockView{family, state, sport, dport, saddr, daddr}; }
};

// Every socket in mix.nlrec, both families.
inline std::vector<OwnedSock> LoadMixSockets() {
  std::ifstream in(DataPath("mix.nlrec"), std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<OwnedSock> out;
  size_t at = 0;
  while (at + 8 <= b.size()) {
    uint32_t len = b[at] | b[at + 1] << 8 | b[at + 2] << 16 | uint32_t(b[at + 3]) << 24;
    size_t p = at + 8, end = at + 8 + len;
    while (p + sizeof(nlmsghdr) <= end) {
      nlmsghdr h;
      std::memcpy(&h, &b[p], sizeof h);
      if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
        inet_diag_msg m;
        std::memcpy(&m, &b[p + NLMSG_HDRLEN], sizeof m);
        OwnedSock s{m.idiag_family, m.idiag_state, ntohs(m.id.idiag_sport), ntohs(m.id.idiag_dport), {}, {}};
        std::memcpy(s.saddr, m.id.idiag_src, 16);
        std::memcpy(s.daddr, m.id.idiag_dst, 16);
        out.push_back(s);
      }
      p += NLMSG_ALIGN(h.nlmsg_len);
    }
    at = end;
  }
  return out;
}


}  // namespace tcpmax::diag::testing

// Synthetic netlink answers for diag tests: socket messages, NLMSG_DONE,
// flags, and a DumpSource that serves scripted datagrams and errors.
#pragma once

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "diag/dump_source.h"

namespace tcpmax::diag {

inline void Append(std::vector<uint8_t>& d, uint16_t type, uint16_t flags, const void* payload, size_t len) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(len));
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  size_t at = d.size();
  d.resize(at + NLMSG_SPACE(len));
  std::memcpy(&d[at], &h, sizeof h);
  if (len) std::memcpy(&d[at + NLMSG_HDRLEN], payload, len);
}

inline void AppendSock(std::vector<uint8_t>& d, uint8_t state, uint16_t sport, uint16_t flags = 0) {
  inet_diag_msg m{};
  m.idiag_family = AF_INET;
  m.idiag_state = state;
  m.id.idiag_sport = htons(sport);
  m.id.idiag_dport = htons(40000);
  m.id.idiag_src[0] = htonl(0x7f000001);
  m.id.idiag_dst[0] = htonl(0x7f000001);
  Append(d, SOCK_DIAG_BY_FAMILY, flags | NLM_F_MULTI, &m, sizeof m);
}

inline void AppendDone(std::vector<uint8_t>& d, uint16_t flags = 0) {
  int zero = 0;
  Append(d, NLMSG_DONE, flags | NLM_F_MULTI, &zero, sizeof zero);
}

// Serves scripted datagrams; an empty script entry stands for an errno.
class Scripted : public DumpSource {
 public:
  std::vector<std::vector<uint8_t>> datagrams;
  int error_at = -1, error_code = 0;
  size_t claimed_extra = 0;  // pretend the datagram was this much longer (MSG_TRUNC)
  int sent_family = 0;
  std::vector<uint8_t> request;

  Result<void> Send(int family, std::span<const uint8_t> req) override {
    sent_family = family;
    request.assign(req.begin(), req.end());
    return {};
  }
  Result<size_t> Receive(std::span<uint8_t> buf) override {
    if (static_cast<int>(next_) == error_at) return ErrnoError(error_code, "recv");
    if (next_ >= datagrams.size()) return size_t{0};
    const auto& d = datagrams[next_++];
    std::memcpy(buf.data(), d.data(), std::min(d.size(), buf.size()));
    return d.size() + claimed_extra;
  }

 private:
  size_t next_ = 0;
};

}  // namespace tcpmax::diag

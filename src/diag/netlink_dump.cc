#include "diag/netlink_dump.h"

#include "diag/tcp_state.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace tcpmax::diag {
namespace {

constexpr size_t kBufferSize = 64 * 1024;  // the kernel fills at most 32 KiB per datagram

std::string_view FamilyName(int family) {
  return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "IPv4+IPv6";
}

}  // namespace

std::vector<uint8_t> BuildRequest(int family, uint32_t states, std::span<const uint8_t> bytecode, uint32_t seq,
                                  uint16_t sport, uint16_t dport) {
  bool both = family == AF_UNSPEC;
  size_t header = both ? sizeof(inet_diag_req) : sizeof(inet_diag_req_v2);
  size_t attr_len = bytecode.empty() ? 0 : NLA_ALIGN(NLA_HDRLEN + bytecode.size());
  size_t total = NLMSG_LENGTH(header) + attr_len;
  std::vector<uint8_t> msg(NLMSG_ALIGN(total), 0);

  nlmsghdr nlh{};
  nlh.nlmsg_len = static_cast<uint32_t>(total);
  nlh.nlmsg_type = both ? TCPDIAG_GETSOCK : SOCK_DIAG_BY_FAMILY;
  nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh.nlmsg_seq = seq;
  std::memcpy(msg.data(), &nlh, sizeof nlh);

  if (both) {
    // The compat request: the kernel dumps with sdiag_family AF_UNSPEC,
    // i.e. both families in one walk of its tables.
    inet_diag_req req{};
    req.idiag_ext = 0;
    req.idiag_states = states;
    req.id.idiag_sport = htons(sport);
    req.id.idiag_dport = htons(dport);
    std::memcpy(msg.data() + NLMSG_HDRLEN, &req, sizeof req);
  } else {
    inet_diag_req_v2 req{};
    req.sdiag_family = static_cast<uint8_t>(family);
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_ext = 0;  // no extension attributes: only what counting needs
    req.idiag_states = states;
    req.id.idiag_sport = htons(sport);
    req.id.idiag_dport = htons(dport);
    std::memcpy(msg.data() + NLMSG_HDRLEN, &req, sizeof req);
  }

  if (!bytecode.empty()) {
    nlattr attr{};
    attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + bytecode.size());
    attr.nla_type = INET_DIAG_REQ_BYTECODE;
    uint8_t* at = msg.data() + NLMSG_LENGTH(header);
    std::memcpy(at, &attr, sizeof attr);
    std::memcpy(at + NLA_HDRLEN, bytecode.data(), bytecode.size());
  }
  return msg;
}

Result<bool> ParseDatagram(std::span<const uint8_t> data, int family, SockSink& sink, DumpStats& stats) {
  size_t at = 0;
  while (data.size() - at >= sizeof(nlmsghdr)) {
    nlmsghdr nlh;
    std::memcpy(&nlh, data.data() + at, sizeof nlh);
    if (nlh.nlmsg_len < sizeof nlh || nlh.nlmsg_len > data.size() - at) {
      return ErrnoError(EBADMSG, fmt::format("inet_diag dump ({}): malformed message at byte {}", FamilyName(family), at));
    }
    const uint8_t* payload = data.data() + at + NLMSG_HDRLEN;
    if (nlh.nlmsg_flags & NLM_F_DUMP_INTR) stats.interrupted = true;
    if (nlh.nlmsg_type == NLMSG_DONE) return true;
    if (nlh.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr err{};
      if (nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(int))) std::memcpy(&err.error, payload, sizeof(int));
      // A kernel sends -errno (1..4095); anything else is a corrupt message
      // (and INT_MIN could not even be negated).
      bool is_errno = err.error < 0 && err.error >= -4095;
      return ErrnoError(is_errno ? -err.error : EBADMSG, fmt::format("inet_diag dump ({})", FamilyName(family)));
    }
    if ((nlh.nlmsg_type == SOCK_DIAG_BY_FAMILY || nlh.nlmsg_type == TCPDIAG_GETSOCK) && nlh.nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
      const auto* m = reinterpret_cast<const inet_diag_msg*>(payload);
      // A kernel sends only these; a corrupt recording must not index the
      // state tables out of bounds or count another family as IPv6.
      if (m->idiag_state > kMaxTcpState || (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)) {
        return ErrnoError(EBADMSG, fmt::format("inet_diag dump ({}): socket message with state {} family {} at byte {}",
                                               FamilyName(family), m->idiag_state, m->idiag_family, at));
      }
      SockView v;
      v.family = m->idiag_family;
      v.state = m->idiag_state;
      v.sport = ntohs(m->id.idiag_sport);
      v.dport = ntohs(m->id.idiag_dport);
      v.saddr = reinterpret_cast<const uint8_t*>(m->id.idiag_src);
      v.daddr = reinterpret_cast<const uint8_t*>(m->id.idiag_dst);
      ++stats.messages;
      v.rqueue = m->idiag_rqueue;
      v.wqueue = m->idiag_wqueue;
      v.inode = m->idiag_inode;
      sink.Add(v);
    }
    at += NLMSG_ALIGN(nlh.nlmsg_len);
    if (at > data.size()) break;
  }
  return false;
}

Result<DumpStats> RunDump(DumpSource& source, int family, uint32_t states, std::span<const uint8_t> bytecode,
                          SockSink& sink, uint16_t sport, uint16_t dport) {
  static thread_local uint32_t seq = 0;
  std::vector<uint8_t> request = BuildRequest(family, states, bytecode, ++seq, sport, dport);
  if (auto sent = source.Send(family, request); !sent) return tl::unexpected(sent.error());
  std::vector<uint8_t> buf(kBufferSize);
  DumpStats stats;
  for (;;) {
    auto n = source.Receive(buf);
    if (!n) return tl::unexpected(n.error());
    if (*n > buf.size()) {
      return ErrnoError(EMSGSIZE, fmt::format("inet_diag dump ({}): datagram of {} bytes truncated to {}",
                                              FamilyName(family), *n, buf.size()));
    }
    if (*n == 0) return ErrnoError(EBADMSG, fmt::format("inet_diag dump ({}): ended without NLMSG_DONE", FamilyName(family)));
    ++stats.datagrams;
    auto done = ParseDatagram(std::span<const uint8_t>(buf.data(), *n), family, sink, stats);
    if (!done) return tl::unexpected(done.error());
    if (*done) return stats;
  }
}

}  // namespace tcpmax::diag

#include "diag/server_scan.h"

#include <algorithm>

#include "diag/bytecode.h"
#include "diag/dump_source.h"
#include "diag/netlink_dump.h"
#include "diag/query.h"
#include "diag/tcp_state.h"

namespace tcpmax::diag {
namespace {

class ServerSink final : public SockSink {
 public:
  ServerSink(std::span<const PortRange> ports, std::span<const uint64_t> owned) : ports_(ports), owned_(owned) {}

  void Add(const SockView& s) override {
    if (!OnPorts(s.sport)) return;
    switch (s.state) {
      case kListen:
        ++c.listeners;
        c.queued += s.rqueue;
        c.backlog += s.wqueue;
        c.listening.emplace_back(s.sport, s.inode);
        return;
      case kEstablished:
        ++c.established;
        if (s.inode == 0) {
          ++c.no_file;
          return;
        }
        ++c.accepted;
        if (!owned_.empty() && std::binary_search(owned_.begin(), owned_.end(), s.inode)) ++c.owned;
        return;
      case kCloseWait: ++c.close_wait; return;
      case kSynRecv:
      case kNewSynRecv: ++c.syn_recv; return;
      default: return;
    }
  }

  ServerSockets c;

 private:
  bool OnPorts(uint16_t p) const {
    for (const PortRange& r : ports_) {
      if (r.Contains(p)) return true;
    }
    return false;
  }
  std::span<const PortRange> ports_;
  std::span<const uint64_t> owned_;
};

}  // namespace

Result<ServerSockets> ScanServerSockets(std::span<const PortRange> ports, std::span<const uint64_t> owned) {
  auto source = NetlinkSource::Open();
  if (!source) return tl::unexpected(source.error());
  Query q;
  q.lports.assign(ports.begin(), ports.end());
  q.states = (1u << kListen) | (1u << kEstablished) | (1u << kCloseWait) | (1u << kSynRecv) | (1u << kNewSynRecv);
  std::vector<uint8_t> bytecode = CompileBytecode(q);
  ServerSink sink(ports, owned);
  auto both = RunDump(**source, AF_UNSPEC, q.states, bytecode, sink);
  if (both) {
    sink.c.interrupted = both->interrupted;
    return sink.c;
  }
  if (sink.c.listeners + sink.c.established != 0) return tl::unexpected(both.error());
  for (int family : {AF_INET, AF_INET6}) {
    auto st = RunDump(**source, family, q.states, bytecode, sink);
    if (!st) return tl::unexpected(st.error());
    sink.c.interrupted |= st->interrupted;
  }
  return sink.c;
}

}  // namespace tcpmax::diag

// Firewall: the classic recipe that lets a user-space TCP engine share an
// interface and an address with the kernel. Packets reach the engine through
// a packet socket (af_packet_link.h) *and* the kernel's own stack; the kernel
// knows no socket for them and would answer each with a RST, killing the
// engine's connections. tcpmax installs an nftables table of its own that
//   - drops the engine's inbound segments at prerouting, before conntrack and
//     the TCP stack see them (packet sockets got their copy earlier), and
//   - drops any RST the kernel still sends from the engine's addresses and
//     ports (output), whatever produced it.
// The engine's own packets leave through the packet socket, below netfilter.
//
// RenderFirewall() is pure (what `--firewall print` shows and the unit test
// compares). Firewall::Install() writes the change to the run journal first
// (kind nft_table, with the namespace it lives in), applies the table in one
// `nft -f` transaction, reports it through `notify`, and the destructor
// deletes it; after SIGKILL `tcpmax restore` does (sys/undo.h).
// Thread-safety: use from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/error.h"
#include "userland/link/netns_setup.h"

namespace tcpmax::userland::link {

// The engine's side of its connections: the addresses and ports the kernel
// must keep away from. Server: its address and listening ports. Client: its
// source range and source ports (and the target, to narrow the rules).
struct FirewallSpec {
  std::string table;               // nftables table name (family inet), e.g. "tcpmax_1234"
  Cidr local;                      // address or range of the engine (IPv4 or IPv6: rules match `ip` or `ip6`)
  std::vector<PortRange> local_ports;
  std::optional<IpAddress> remote_ip;  // client: the target address (the family of `local`)
  std::vector<PortRange> remote_ports; // client: the target ports; empty: any
};

// "tcpmax_<pid>": the table name of this process.
std::string FirewallTableName();

// The nft script (`nft -f` syntax) of `spec`.
std::string RenderFirewall(const FirewallSpec& spec);

class Firewall {
 public:
  // REQUIRES: nft available (sys::NftAvailable), the table absent.
  static Result<std::unique_ptr<Firewall>> Install(const FirewallSpec& spec, Notify notify);
  ~Firewall();  // deletes the table (journal undo), reports it
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;

  const std::string& table() const { return table_; }

 private:
  Firewall(std::string table, Notify notify) : table_(std::move(table)), notify_(std::move(notify)) {}
  void Tell(const std::string& line) const;

  std::string table_;
  Notify notify_;
  uint64_t change_ = 0;  // journal id
};

}  // namespace tcpmax::userland::link

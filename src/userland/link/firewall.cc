#include "userland/link/firewall.h"

#include <unistd.h>

#include <fmt/format.h>

#include "sys/netns.h"
#include "sys/nft.h"
#include "sys/run_journal.h"

namespace tcpmax::userland::link {
namespace {

// "{ 80, 8080, 1024-65535 }".
std::string PortSet(const std::vector<PortRange>& ports) {
  std::string s = "{ ";
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) s += ", ";
    s += ports[i].lo == ports[i].hi ? std::to_string(ports[i].lo) : fmt::format("{}-{}", ports[i].lo, ports[i].hi);
  }
  return s + " }";
}

// "198.18.0.1" for a /32 (or an IPv6 /128), else "198.19.0.0/16".
std::string AddressMatch(const Cidr& c) {
  return c.prefix == (c.base.is_v6() ? 128 : 32) ? c.base.ToString() : c.ToString();
}

}  // namespace

std::string FirewallTableName() { return fmt::format("tcpmax_{}", ::getpid()); }

std::string RenderFirewall(const FirewallSpec& s) {
  std::string remote_in, remote_out;
  const char* ip_kw = s.local.base.is_v6() ? "ip6" : "ip";
  if (s.remote_ip) {
    std::string ip = s.remote_ip->ToString();
    remote_in += fmt::format(" {} saddr {}", ip_kw, ip);
    remote_out += fmt::format(" {} daddr {}", ip_kw, ip);
  }
  if (!s.remote_ports.empty()) {
    remote_in += " tcp sport " + PortSet(s.remote_ports);
    remote_out += " tcp dport " + PortSet(s.remote_ports);
  }
  std::string local = AddressMatch(s.local), ports = PortSet(s.local_ports);
  return fmt::format(
      "# tcpmax userland: the kernel's TCP stack keeps away from the user-space engine's connections\n"
      "table inet {0} {{\n"
      "\tchain prerouting {{\n"
      "\t\ttype filter hook prerouting priority raw; policy accept;\n"
      "\t\t{5} daddr {1}{2} tcp dport {3} drop\n"
      "\t}}\n"
      "\tchain output {{\n"
      "\t\ttype filter hook output priority raw; policy accept;\n"
      "\t\t{5} saddr {1}{4} tcp sport {3} tcp flags & rst == rst drop\n"
      "\t}}\n"
      "}}\n",
      s.table, local, remote_in, ports, remote_out, ip_kw);
}

void Firewall::Tell(const std::string& line) const {
  if (!notify_) return;
  try {
    notify_(line);
  } catch (...) {  // output gone: cleanup goes on
  }
}

Result<std::unique_ptr<Firewall>> Firewall::Install(const FirewallSpec& spec, Notify notify) {
  if (auto nft = sys::NftAvailable(); !nft) return tl::unexpected(nft.error());
  auto journal = sys::RunJournal(sys::LockMode::kShared);
  if (!journal) return tl::unexpected(journal.error());
  auto netns = sys::CurrentNetnsName();
  if (!netns) return tl::unexpected(netns.error());
  std::string key = "inet " + spec.table;
  auto id = (*journal)->Record(sys::Change{sys::ChangeKind::kNftTable, *netns, key, "absent", "created"});
  if (!id) return tl::unexpected(id.error());
  std::string script = RenderFirewall(spec);
  if (auto r = sys::NftApply(script); !r) {
    (*journal)->NeverMade(*id);
    return tl::unexpected(r.error());
  }
  std::unique_ptr<Firewall> fw(new Firewall(spec.table, std::move(notify)));
  fw->change_ = *id;
  auto handle = sys::NftTableHandle("inet", spec.table);
  if (!handle || !*handle) {
    // Installed but not found again: the destructor's undo still tries.
    return tl::unexpected(handle ? Error{ENOENT, "nft table " + key + " vanished after install"} : handle.error());
  }
  if (auto a = (*journal)->Applied(*id, std::to_string(**handle)); !a) return tl::unexpected(a.error());
  fw->Tell(fmt::format("installed nftables table {}{} (removed on exit):", key,
                       netns->empty() ? "" : " in netns " + *netns));
  size_t start = 0;
  while (start < script.size()) {
    size_t eol = script.find('\n', start);
    fw->Tell("  " + script.substr(start, eol - start));
    start = eol == std::string::npos ? script.size() : eol + 1;
  }
  return fw;
}

Firewall::~Firewall() {
  sys::Journal* journal = sys::CurrentRunJournal();
  if (journal == nullptr || change_ == 0) return;  // closed already: it undid everything
  sys::UndoResult r = journal->Undo(change_);
  Tell(r.outcome == sys::Outcome::kUndone ? "removed nftables table inet " + table_ : r.Describe());
}

}  // namespace tcpmax::userland::link

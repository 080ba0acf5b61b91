#include "limits/errno_class.h"

#include <cerrno>
#include <algorithm>
#include <map>

#include "core/error.h"

namespace tcpmax::limits {
namespace {

constexpr std::array<ErrnoClassInfo, kErrnoClassCount> kInfo = {{
    {"EMFILE",
     "this process reached its open-file limit (soft RLIMIT_NOFILE): every socket is a file descriptor",
     "raise the soft limit up to the hard one (ulimit -n $(ulimit -Hn)); past the hard limit use "
     "--engine uring (direct descriptors need no fd) or more --processes, or raise the hard limit "
     "(LimitNOFILE= in systemd, nofile in /etc/security/limits.conf; needs CAP_SYS_RESOURCE)"},
    {"ENFILE",
     "the whole system reached its open-file limit (fs.file-max)",
     "sysctl -w fs.file-max=<higher> (check /proc/sys/fs/file-nr); each file costs about 1 KiB of kernel memory"},
    {"EADDRNOTAVAIL",
     "no free local port for this (source address, destination) pair: the ephemeral range "
     "(net.ipv4.ip_local_port_range) is used up, by open connections or TIME_WAIT",
     "add source addresses (--source 127.0.0.0/16 on loopback) or destination ports, or widen "
     "sysctl -w net.ipv4.ip_local_port_range='1024 65535'; close with SO_LINGER 0 to avoid TIME_WAIT"},
    {"EADDRINUSE",
     "the local address and port are already taken (bind without IP_BIND_ADDRESS_NO_PORT, or a listener "
     "port in use)",
     "let the kernel pick the port per 4-tuple (IP_BIND_ADDRESS_NO_PORT, as tcpmax load does) or choose "
     "another port; check with ss -ltnp"},
    {"ECONNREFUSED",
     "the target answered the SYN with a reset: nothing is listening on that address and port, or its "
     "accept backlog overflowed with net.ipv4.tcp_abort_on_overflow=1",
     "start the server (tcpmax serve --listen ...) on every target port; raise net.core.somaxconn and the "
     "listen backlog, and accept faster (more workers)"},
    {"ETIMEDOUT",
     "no answer in time: the SYN (or data) was dropped, by a full SYN/accept queue, a firewall, conntrack "
     "(nf_conntrack_max) or memory pressure, or tcpmax's own --connect-timeout fired",
     "lower --rate, raise net.core.somaxconn / net.ipv4.tcp_max_syn_backlog and the server backlog, check "
     "dmesg for 'nf_conntrack: table full' or 'TCP: out of memory', or raise --connect-timeout"},
    {"ECONNRESET",
     "the peer reset an established connection: the server closed it with unread data or SO_LINGER 0, "
     "crashed, or hit a limit (its own EMFILE) and aborted",
     "check the server's own errors and limits (tcpmax serve prints them); check dmesg and "
     "net.ipv4.tcp_mem pressure"},
    {"EPIPE",
     "a write on a connection the peer already closed",
     "the server closes connections: check its idle timeout, connection limit and errors"},
    {"ENETUNREACH",
     "no route to the target network",
     "check ip route get <target>; on loopback use 127.0.0.0/8 or ::1 targets"},
    {"ENOBUFS",
     "the kernel could not allocate memory for the socket or its buffers (ENOBUFS or ENOMEM): "
     "tcp_mem, slab or cgroup memory pressure",
     "free memory or raise the cgroup memory limit; raise net.ipv4.tcp_mem; each held connection costs "
     "about 2-4 KiB of kernel memory (tcpmax limits shows the estimate)"},
    {"",
     "an unexpected error from the kernel",
     "see the errno name; run tcpmax limits to check the configured ceilings"},
}};

}  // namespace

ErrnoClass ClassifyErrno(int code) {
  switch (code) {
    case EMFILE: return ErrnoClass::kEmfile;
    case ENFILE: return ErrnoClass::kEnfile;
    case EADDRNOTAVAIL: return ErrnoClass::kEaddrnotavail;
    case EADDRINUSE: return ErrnoClass::kEaddrinuse;
    case ECONNREFUSED: return ErrnoClass::kEconnrefused;
    case ETIMEDOUT:
    case kTimeoutErrno: return ErrnoClass::kEtimedout;
    case ECONNRESET: return ErrnoClass::kEconnreset;
    case EPIPE: return ErrnoClass::kEpipe;
    case ENETUNREACH:
    case EHOSTUNREACH: return ErrnoClass::kEnetunreach;
    case ENOBUFS:
    case ENOMEM: return ErrnoClass::kEnobufs;
    default: return ErrnoClass::kOther;
  }
}

const ErrnoClassInfo& Describe(ErrnoClass c) { return kInfo[static_cast<size_t>(c)]; }

std::string_view ErrorKey(int code) {
  ErrnoClass c = ClassifyErrno(code);
  if (c != ErrnoClass::kOther) return Describe(c).key;
  return ErrnoName(code);
}

std::string_view ErrorMeaning(int code) { return Describe(ClassifyErrno(code)).meaning; }
std::string_view ErrorRemedy(int code) { return Describe(ClassifyErrno(code)).remedy; }

int ErrnoFromKey(std::string_view key) {
  if (key == "ETIMEDOUT") return ETIMEDOUT;
  for (int code = 1; code < 256; ++code) {
    if (ErrnoName(code) == key) return code;
  }
  return 0;
}

int ErrorCounts::Slot(int code) {
  if (code == kTimeoutErrno) return kSlots - 1;
  if (code <= 0 || code >= kSlots - 1) return 0;
  return code;
}

void ErrorCounts::Merge(const ErrorCounts& other) {
  for (int i = 0; i < kSlots; ++i) counts_[i] += other.counts_[i];
}

uint64_t ErrorCounts::Total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

std::vector<std::pair<int, uint64_t>> ErrorCounts::ByErrno() const {
  std::vector<std::pair<int, uint64_t>> out;
  for (int i = 0; i < kSlots; ++i) {
    if (counts_[i] != 0) out.emplace_back(i == kSlots - 1 ? kTimeoutErrno : i, counts_[i]);
  }
  return out;
}

std::vector<std::pair<int, uint64_t>> ErrorCounts::ByClass() const {
  std::map<std::string_view, std::pair<int, uint64_t>> by_key;
  for (int i = 0; i < kSlots; ++i) {
    if (counts_[i] == 0) continue;
    int code = i == kSlots - 1 ? kTimeoutErrno : i;
    auto [it, fresh] = by_key.try_emplace(ErrorKey(code), code, 0);
    it->second.second += counts_[i];
  }
  std::vector<std::pair<int, uint64_t>> out;
  for (const auto& [key, v] : by_key) out.push_back(v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

std::vector<std::pair<std::string, uint64_t>> ErrorCounts::ByKey() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [code, n] : ByClass()) out.emplace_back(std::string(ErrorKey(code)), n);
  return out;
}

std::string_view FindingIdFor(int code) {
  if (code == ENOSPC) return "fs.epoll.max_user_watches";
  switch (ClassifyErrno(code)) {
    case ErrnoClass::kEmfile: return "rlimit_nofile_hard";
    case ErrnoClass::kEnfile: return "fs.file-max";
    case ErrnoClass::kEaddrnotavail: return "net.ipv4.ip_local_port_range";
    case ErrnoClass::kEnobufs: return "memory";
    case ErrnoClass::kEconnrefused:
    case ErrnoClass::kEtimedout: return "net.core.somaxconn";
    default: return "";
  }
}

}  // namespace tcpmax::limits

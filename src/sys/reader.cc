#include "sys/reader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/resource.h>

#include <charconv>
#include <memory>

#include <fmt/format.h>

#include "core/fd.h"
#include "sys/capabilities.h"
#include "sys/safe_file.h"

namespace tcpmax::sys {

Result<std::string> ReadWholeFile(std::string_view path) {
  std::string p(path);
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + p);
  std::string text;
  char buf[16384];
  for (;;) {  // /proc files report size 0: read until EOF
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + p);
    }
    if (n == 0) break;
    text.append(buf, size_t(n));
  }
  return text;
}

std::string_view Trim(std::string_view text) {
  const char* ws = " \t\r\n";
  size_t b = text.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = text.find_last_not_of(ws);
  return text.substr(b, e - b + 1);
}

Result<std::vector<uint64_t>> ParseNumbers(std::string_view text) {
  std::vector<uint64_t> out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
      ++i;
      continue;
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
    size_t next = size_t(end - text.data());
    bool sep_ok = next == text.size() || text[next] == ' ' || text[next] == '\t' || text[next] == '\n' ||
                  text[next] == '\r';
    if (ec != std::errc() || !sep_ok) {
      return PlainError(fmt::format("'{}': expected whitespace-separated unsigned integers", Printable(Trim(text), 40)));
    }
    out.push_back(v);
    i = next;
  }
  return out;
}

Result<std::string> LiveReader::ReadFile(std::string_view path) const { return ReadWholeFile(path); }

Result<Rlimit> LiveReader::GetRlimit(RlimitKind kind) const {
  int resource = kind == RlimitKind::kNofile ? RLIMIT_NOFILE : RLIMIT_NPROC;
  rlimit rl{};
  if (::getrlimit(resource, &rl) != 0) return ErrnoError("getrlimit");
  auto conv = [](rlim_t v) { return v == RLIM_INFINITY ? kUnlimited : uint64_t(v); };
  return Rlimit{conv(rl.rlim_cur), conv(rl.rlim_max)};
}

Result<uint64_t> LiveReader::EffectiveCapabilities() const { return ProcessCapabilities(); }

namespace {

int PrefixLength(const sockaddr* mask) {
  if (mask == nullptr) return -1;
  const uint8_t* bytes = nullptr;
  size_t len = 0;
  if (mask->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    len = 4;
  } else if (mask->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    len = 16;
  } else {
    return -1;
  }
  int bits = 0;
  for (size_t i = 0; i < len; ++i) bits += __builtin_popcount(bytes[i]);
  return bits;
}

}  // namespace

Result<std::vector<LocalAddress>> LiveReader::LocalAddresses() const {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return ErrnoError("getifaddrs");
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> guard(list, ::freeifaddrs);
  std::vector<LocalAddress> out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    int family = a->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* src = family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr);
    ::inet_ntop(family, src, text, sizeof text);
    int prefix = PrefixLength(a->ifa_netmask);
    std::string cidr = prefix >= 0 ? fmt::format("{}/{}", text, prefix) : std::string(text);
    out.push_back({a->ifa_name, cidr, (a->ifa_flags & IFF_LOOPBACK) != 0});
  }
  return out;
}

}  // namespace tcpmax::sys

#include "core/address.h"

#include <algorithm>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace tcpmax {
namespace {

std::vector<std::string_view> SplitComma(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

Result<uint32_t> ParseUint(std::string_view s, uint32_t max, std::string_view what) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > max) {
    return PlainError(fmt::format("'{}' is not {} (0-{})", s, what, max));
  }
  return v;
}

}  // namespace

IpAddress IpAddress::V4(uint32_t host_order) {
  IpAddress ip;
  ip.family = AF_INET;
  uint32_t n = htonl(host_order);
  std::memcpy(ip.bytes.data(), &n, 4);
  return ip;
}

uint32_t IpAddress::v4() const {
  uint32_t n;
  std::memcpy(&n, bytes.data(), 4);
  return ntohl(n);
}

bool IpAddress::IsLoopback() const {
  if (family == AF_INET) return bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes == kLoop6;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string Endpoint::ToString() const {
  if (ip.is_v6()) return fmt::format("[{}]:{}", ip.ToString(), port);
  return fmt::format("{}:{}", ip.ToString(), port);
}

socklen_t Endpoint::ToSockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof *out);
  if (ip.is_v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(out);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, ip.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(out);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, ip.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

Endpoint Endpoint::FromSockaddr(const sockaddr* sa) {
  Endpoint e;
  if (sa->sa_family == AF_INET6) {
    auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    e.ip.family = AF_INET6;
    std::memcpy(e.ip.bytes.data(), &s6->sin6_addr, 16);
    e.port = ntohs(s6->sin6_port);
  } else {
    auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    e.ip.family = AF_INET;
    std::memcpy(e.ip.bytes.data(), &s4->sin_addr, 4);
    e.port = ntohs(s4->sin_port);
  }
  return e;
}

uint64_t Cidr::Size() const {
  int host_bits = (base.is_v6() ? 128 : 32) - prefix;
  if (host_bits >= 63) return uint64_t{1} << 63;
  return uint64_t{1} << host_bits;
}

IpAddress Cidr::At(uint64_t i) const {
  IpAddress ip = base;
  // Add i to the address as a big-endian integer.
  int byte = base.is_v6() ? 15 : 3;
  uint64_t carry = i;
  while (carry != 0 && byte >= 0) {
    uint64_t sum = uint64_t(ip.bytes[byte]) + (carry & 0xff);
    ip.bytes[byte] = static_cast<uint8_t>(sum);
    carry = (carry >> 8) + (sum >> 8);
    --byte;
  }
  return ip;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.family != base.family) return false;
  int bits = prefix;
  for (int b = 0; bits > 0; ++b, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((ip.bytes[b] & mask) != (base.bytes[b] & mask)) return false;
  }
  return true;
}

std::string Cidr::ToString() const { return fmt::format("{}/{}", base.ToString(), prefix); }

Result<IpAddress> ParseIp(std::string_view text) {
  std::string s(text);
  if (s == "localhost") s = "127.0.0.1";
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return PlainError(fmt::format("'{}' is not an IPv4 or IPv6 address", text));
}

Result<Endpoint> ParseEndpoint(std::string_view text, uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return PlainError(fmt::format("'{}': missing ']'", text));
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return PlainError(fmt::format("'{}' is not ADDRESS:PORT", text));
      port = rest.substr(1);
    }
  } else {
    size_t colon = text.rfind(':');
    bool single_colon = colon != std::string_view::npos && text.find(':') == colon;
    if (single_colon) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  Endpoint e;
  auto ip = ParseIp(host);
  if (!ip) return PlainError(fmt::format("'{}': {}", text, ip.error().context));
  e.ip = *ip;
  if (port.empty()) {
    if (default_port == 0) return PlainError(fmt::format("'{}' has no port (ADDRESS:PORT)", text));
    e.port = default_port;
  } else {
    auto p = ParseUint(port, 65535, "a port");
    if (!p || *p == 0) return PlainError(fmt::format("'{}': port must be 1-65535", text));
    e.port = static_cast<uint16_t>(*p);
  }
  return e;
}

Result<std::vector<Endpoint>> ParseEndpoints(std::string_view text, uint16_t default_port) {
  std::vector<Endpoint> out;
  for (std::string_view part : SplitComma(text)) {
    auto e = ParseEndpoint(part, default_port);
    if (!e) return tl::unexpected(e.error());
    out.push_back(*e);
  }
  return out;
}

Result<std::vector<Endpoint>> ParseEndpointSpec(std::string_view text, bool allow_port_zero) {
  if (text.empty()) return PlainError("empty (expected ADDR:PORT or ADDR:LO-HI, comma-separated)");
  std::vector<Endpoint> out;
  for (std::string_view item : SplitComma(text)) {
    if (item.empty()) return PlainError(fmt::format("'{}': empty item", text));
    size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || (item.front() != '[' && item.find(':') != colon)) {
      return PlainError(fmt::format("'{}': expected ADDR:PORT or ADDR:LO-HI ([::1]:PORT for IPv6)", item));
    }
    std::string_view host = item.substr(0, colon);
    std::string_view ports = item.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto ip = ParseIp(host);
    if (!ip) return PlainError(fmt::format("'{}': '{}' is not an IP address", item, host));
    size_t dash = ports.find('-');
    auto port = [&](std::string_view t) -> Result<uint16_t> {
      auto v = ParseUint(t, 65535, "a port");
      if (!v) return PlainError(fmt::format("'{}': '{}' is not a port (0-65535)", item, t));
      return static_cast<uint16_t>(*v);
    };
    auto lo = port(ports.substr(0, dash));
    if (!lo) return tl::unexpected(lo.error());
    uint16_t hi = *lo;
    if (dash != std::string_view::npos) {
      auto h = port(ports.substr(dash + 1));
      if (!h) return tl::unexpected(h.error());
      hi = *h;
      if (hi < *lo) return PlainError(fmt::format("'{}': reversed port range", item));
      if (*lo == 0) return PlainError(fmt::format("'{}': port 0 cannot start a range", item));
    }
    if (*lo == 0 && !allow_port_zero) return PlainError(fmt::format("'{}': port 0", item));
    for (uint32_t p = *lo; p <= hi; ++p) out.push_back(Endpoint{*ip, static_cast<uint16_t>(p)});
    if (out.size() > 65536) return PlainError(fmt::format("'{}': more than 65,536 endpoints", text));
  }
  std::vector<Endpoint> sorted = out;
  std::sort(sorted.begin(), sorted.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::make_pair(a.ToString(), a.port) < std::make_pair(b.ToString(), b.port);
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i] == sorted[i - 1] && sorted[i].port != 0) {
      return PlainError(fmt::format("'{}': {} appears twice", text, sorted[i].ToString()));
    }
  }
  return out;
}

Result<Cidr> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip) return PlainError(fmt::format("'{}' is not a CIDR range (e.g. 127.0.0.0/16)", text));
  int max = ip->is_v6() ? 128 : 32;
  Cidr c;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    auto p = ParseUint(text.substr(slash + 1), static_cast<uint32_t>(max), "a prefix length");
    if (!p) return PlainError(fmt::format("'{}': prefix length must be 0-{}", text, max));
    c.prefix = static_cast<int>(*p);
  }
  // Clear host bits.
  c.base = *ip;
  int bits = c.prefix;
  for (int b = 0; b < (max / 8); ++b, bits -= 8) {
    if (bits >= 8) continue;
    c.base.bytes[b] &= bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
  }
  return c;
}

Result<std::vector<Cidr>> ParseCidrs(std::string_view text) {
  std::vector<Cidr> out;
  for (std::string_view part : SplitComma(text)) {
    auto c = ParseCidr(part);
    if (!c) return tl::unexpected(c.error());
    out.push_back(*c);
  }
  return out;
}

Result<std::vector<PortRange>> ParsePortRanges(std::string_view text) {
  std::vector<PortRange> out;
  for (std::string_view part : SplitComma(text)) {
    size_t dash = part.find('-');
    std::string_view a = part.substr(0, dash);
    std::string_view b = dash == std::string_view::npos ? a : part.substr(dash + 1);
    auto lo = ParseUint(a, 65535, "a port");
    auto hi = ParseUint(b, 65535, "a port");
    if (!lo || !hi) {
      return PlainError(fmt::format("'{}' is not a port range: ports are 0-65535 (e.g. 1-65535, 7000-7009,8080)", part));
    }
    if (*lo > *hi) {
      return PlainError(fmt::format("'{}' is not a port range: {} is above {}", part, *lo, *hi));
    }
    out.push_back(PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)});
  }
  return out;
}

}  // namespace tcpmax

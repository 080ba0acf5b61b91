#include "diag/proc_net_tcp.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/fd.h"

namespace tcpmax::diag {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads exactly `digits` hex digits at `p`; advances it.
bool Hex(std::string_view line, size_t& p, int digits, uint32_t& out) {
  if (line.size() - p < static_cast<size_t>(digits)) return false;
  uint32_t v = 0;
  for (int i = 0; i < digits; ++i) {
    int d = HexDigit(line[p + i]);
    if (d < 0) return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  p += digits;
  out = v;
  return true;
}

// "0100007F:1F90": address words then ":" and the port.
bool Endpoint(std::string_view line, size_t& p, int words, uint8_t* addr, uint16_t& port) {
  for (int w = 0; w < words; ++w) {
    uint32_t word;
    if (!Hex(line, p, 8, word)) return false;
    std::memcpy(addr + 4 * w, &word, 4);  // the kernel printed the in-memory word
  }
  uint32_t port32;
  if (p >= line.size() || line[p++] != ':' || !Hex(line, p, 4, port32)) return false;
  port = static_cast<uint16_t>(port32);
  return true;
}

bool SkipSpaces(std::string_view line, size_t& p) {
  while (p < line.size() && line[p] == ' ') ++p;
  return p < line.size();
}

bool ParseLine(std::string_view line, int family, Tally& tally) {
  size_t p = 0;
  if (!SkipSpaces(line, p)) return false;
  size_t colon = line.find(':', p);
  if (colon == std::string_view::npos) return false;
  p = colon + 1;
  int words = family == AF_INET ? 1 : 4;
  uint8_t src[16], dst[16];
  SockView v;
  v.family = static_cast<uint8_t>(family);
  uint32_t state;
  if (!SkipSpaces(line, p) || !Endpoint(line, p, words, src, v.sport)) return false;
  if (!SkipSpaces(line, p) || !Endpoint(line, p, words, dst, v.dport)) return false;
  if (!SkipSpaces(line, p) || !Hex(line, p, 2, state)) return false;
  v.state = static_cast<uint8_t>(state);
  v.saddr = src;
  v.daddr = dst;
  tally.Add(v);
  return true;
}

}  // namespace

Result<uint64_t> ParseProcNetTcp(std::string_view text, int family, Tally& tally) {
  uint64_t lines = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? text.npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.find_first_not_of(' ') == std::string_view::npos) continue;
    if (line.find("local_address") != std::string_view::npos) continue;  // the header
    if (!ParseLine(line, family, tally)) {
      return ErrnoError(EBADMSG, fmt::format("unparsable /proc/net/tcp{} line '{}'", family == AF_INET ? "" : "6",
                                             line.substr(0, 80)));
    }
    ++lines;
  }
  return lines;
}

Result<uint64_t> ReadProcNetTcp(const std::string& path, int family, Tally& tally) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return ErrnoError(fmt::format("open {}", path));
  Fd fd(raw);
  std::vector<char> buf(1 << 20);
  size_t have = 0;  // bytes of an incomplete line carried over
  uint64_t lines = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {}", path));
    size_t end = have + static_cast<size_t>(n);
    std::string_view text(buf.data(), end);
    size_t cut = n == 0 ? end : text.rfind('\n') + 1;  // parse whole lines only
    if (n > 0 && text.rfind('\n') == std::string_view::npos) cut = 0;
    auto got = ParseProcNetTcp(text.substr(0, cut), family, tally);
    if (!got) return got;
    lines += *got;
    if (n == 0) return lines;
    std::memmove(buf.data(), buf.data() + cut, end - cut);
    have = end - cut;
    if (have == buf.size()) return ErrnoError(EBADMSG, fmt::format("{}: line longer than {} bytes", path, buf.size()));
  }
}

}  // namespace tcpmax::diag

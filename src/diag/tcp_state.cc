#include "diag/tcp_state.h"

#include <array>

#include <fmt/format.h>

namespace tcpmax::diag {
namespace {

constexpr std::array<std::string_view, kMaxTcpState + 1> kNames = {
    "unknown",    "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait",
    "close",      "close-wait",  "last-ack", "listen",   "closing",    "new-syn-recv"};

constexpr uint32_t kConnected = kAllStates & ~StateBit(kListen) & ~StateBit(kClose);

std::string Normalize(std::string_view word) {
  std::string s;
  for (char c : word) {
    if (c == ' ') continue;
    s += c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return s;
}

Result<uint32_t> ParseOne(std::string_view word) {
  std::string w = Normalize(word);
  if (w == "all") return kAllStates;
  if (w == "connected") return kConnected;
  if (w == "synchronized") return kConnected & ~StateBit(kSynSent);
  if (w == "listening") return StateBit(kListen);
  if (w == "closed") return StateBit(kClose);
  if (w == "timewait") return StateBit(kTimeWait);
  if (w == "syn-recv" || w == "synrecv" || w == "syn-received") return StateBit(kSynRecv) | StateBit(kNewSynRecv);
  for (int s = 1; s < kMaxTcpState; ++s) {
    if (w == kNames[s]) return StateBit(s);
  }
  return PlainError(fmt::format(
      "unknown state '{}': use all, connected, synchronized or established, syn-sent, syn-recv, fin-wait-1, "
      "fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing",
      word));
}

}  // namespace

std::string_view TcpStateName(int state) {
  if (state >= 1 && state <= kMaxTcpState) return kNames[state];
  return kNames[0];
}

Result<uint32_t> ParseStates(std::string_view text) {
  uint32_t mask = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view word = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (word.empty()) return PlainError(fmt::format("empty state in '{}'", text));
    auto bits = ParseOne(word);
    if (!bits) return tl::unexpected(bits.error());
    mask |= *bits;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return mask;
}

std::vector<std::string_view> StateWords() {
  std::vector<std::string_view> words = {"all", "connected", "synchronized"};
  for (int s = 1; s < kMaxTcpState; ++s) words.push_back(kNames[s]);
  return words;
}

std::string StatesToString(uint32_t mask) {
  if ((mask & kAllStates) == kAllStates) return "all";
  std::string out;
  for (int s = 1; s < kMaxTcpState; ++s) {
    if (!(mask & StateBit(s))) continue;
    if (!out.empty()) out += ',';
    out += kNames[s];
  }
  return out.empty() ? "none" : out;
}

}  // namespace tcpmax::diag

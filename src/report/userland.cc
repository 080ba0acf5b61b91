// Text, JSON and progress lines of `tcpmax userland serve|load`.
#include "report/userland.h"

#include <fmt/format.h>

#include "core/units.h"

namespace tcpmax::report {

using userland::LoadReport;
using userland::ServeReport;

namespace {

std::string DropsText(const uint64_t* drops) {
  std::string s;
  for (size_t i = 0; i < userland::wire::kDropReasons; ++i) {
    if (drops[i] == 0) continue;
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", userland::wire::DropReasonName(userland::wire::DropReason(i)),
                     drops[i]);
  }
  return s.empty() ? "none" : s;
}

nlohmann::json DropsJson(const uint64_t* drops) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < userland::wire::kDropReasons; ++i)
    j[std::string(userland::wire::DropReasonName(userland::wire::DropReason(i)))] = drops[i];
  return j;
}

double PerSecond(uint64_t n, double seconds) { return seconds > 0 ? double(n) / seconds : 0; }

std::string_view PhaseName(userland::LoadPhase p) {
  switch (p) {
    case userland::LoadPhase::kHandshakes: return "handshakes";
    case userland::LoadPhase::kVerify: return "verify";
    case userland::LoadPhase::kHold: return "hold";
    case userland::LoadPhase::kDone: return "done";
  }
  return "?";
}

}  // namespace

nlohmann::json UserlandServeJson(const ServeReport& r) {
  const auto& s = r.stats;
  return {{"established", r.established},
          {"peak_established", r.peak_established},
          {"accepted", s.accepted},
          {"closed", s.closed},
          {"reset_by_peer", s.reset_by_peer},
          {"syns", s.syns},
          {"cookie_bad", s.cookie_bad},
          {"rst_sent", s.rst_sent},
          {"challenge_acks", s.challenge_acks},
          {"dup_acks", s.dup_acks},
          {"bytes_in", s.bytes_in},
          {"bytes_echoed", s.bytes_echoed},
          {"replies_limited", s.replies_limited},
          {"table_full", s.table_full},
          {"max_connections", r.max_connections},
          {"window_limited", s.window_limited},
          {"not_ours", s.not_ours},
          {"packets_in", s.packets_in},
          {"packets_out", s.packets_out},
          {"link", userland::LinkKindName(r.link_kind)},
          {"family", r.v6 ? "ipv6" : "ipv4"},
          {"peer_prefixes", r.peer_prefixes},
          {"threads", r.threads},
          {"link_tx_errors", r.link.tx_errors},
          {"link_rx_packets_per_wakeup", r.link.rx_wakeups ? double(r.link.rx_packets) / double(r.link.rx_wakeups) : 0.0},
          {"link_rx_ring_drops", r.link.rx_ring_drops},
          {"link_rx_merged", r.link.rx_merged},
          {"drops", DropsJson(s.drops)},
          {"table_capacity", r.table_capacity},
          {"table_bytes", r.table_bytes},
          {"rss_base_bytes", r.rss_base},
          {"prefault_seconds", r.prefault_seconds},
          {"rss_bytes", r.rss_now},
          {"rss_bytes_per_connection", r.RssBytesPerConnection()},
          {"cpu_seconds", r.cpu_seconds},
          {"seconds", r.seconds}};
}

std::string UserlandServeText(const ServeReport& r) {
  const auto& s = r.stats;
  std::string out;
  out += fmt::format("userland serve: {} established (peak {}), {} accepted, {} closed, {} reset by peer\n",
             FormatCount(r.established), FormatCount(r.peak_established), FormatCount(s.accepted),
             FormatCount(s.closed), FormatCount(s.reset_by_peer));
  out += fmt::format("  handshakes: {} SYNs answered with cookies, {} bad cookies reset, {} RSTs sent\n", FormatCount(s.syns),
             FormatCount(s.cookie_bad), FormatCount(s.rst_sent));
  out += fmt::format("  segments:   {} in, {} out ({}/s in), {} dup ACKs, {} challenge ACKs, {} B in, {} B echoed\n",
             FormatCount(s.packets_in), FormatCount(s.packets_out), FormatShort(PerSecond(s.packets_in, r.seconds)),
             FormatCount(s.dup_acks), FormatCount(s.challenge_acks), FormatCount(s.bytes_in),
             FormatCount(s.bytes_echoed));
  out += fmt::format("  memory:     {} table {} for {} slots ({:.1f} B/conn); RSS +{} ({:.1f} B/conn)\n",
             r.v6 ? "IPv6" : "IPv4", FormatBytes(double(r.table_bytes)), FormatCount(r.table_capacity),
             r.established ? double(r.table_bytes) / double(r.established) : 0.0,
             FormatBytes(double(r.rss_now > r.rss_base ? r.rss_now - r.rss_base : 0)), r.RssBytesPerConnection());
  out += fmt::format("  dropped:    {}; not ours {}; link tx errors {}; table full {} (cap {}); replies rate-limited {}\n",
             DropsText(s.drops),
             FormatCount(s.not_ours), FormatCount(r.link.tx_errors), FormatCount(s.table_full), FormatCount(r.max_connections),
             FormatCount(s.replies_limited));
  if (r.link_kind == userland::LinkKind::kAfPacket) {
    out += fmt::format("  link:       af_packet, {} engine thread(s); {} packets dropped by the kernel (receive ring full); {} merged (GRO/GSO) "
                       "packets cut into segments\n",
                       r.threads, FormatCount(r.link.rx_ring_drops), FormatCount(r.link.rx_merged));
  }
  return out;
}

std::string UserlandServeProgress(const ServeReport& r) {
  return fmt::format("userland serve: {} established, {} accepted, {} SYN, {}/s packets in, {} dropped",
                     FormatCount(r.established), FormatCount(r.stats.accepted), FormatCount(r.stats.syns),
                     FormatShort(PerSecond(r.stats.packets_in, r.seconds)), FormatCount(r.stats.drops_total()));
}

nlohmann::json UserlandLoadJson(const LoadReport& r) {
  const auto& s = r.stats;
  return {{"connections", r.connections},
          {"established", s.established},
          {"refused", s.refused},
          {"rst_ignored", s.rst_ignored},
          {"syns_sent", s.syns_sent},
          {"syns_resent", s.syns_resent},
          {"synack_dups", s.synack_dups},
          {"bad_acks", s.bad_acks},
          {"foreign", s.foreign},
          {"other", s.other},
          {"handshake_seconds", r.handshake_seconds},
          {"handshakes_per_second", r.HandshakesPerSecond()},
          {"packets_in", s.packets_in},
          {"packets_out", s.packets_out},
          {"packets_per_second", PerSecond(s.packets_in + s.packets_out, r.seconds)},
          {"link", userland::LinkKindName(r.link_kind)},
          {"family", r.v6 ? "ipv6" : "ipv4"},
          {"threads", r.threads},
          {"link_tx_errors", r.link.tx_errors},
          {"link_rx_ring_drops", r.link.rx_ring_drops},
          {"link_rx_packets_per_wakeup", r.link.rx_wakeups ? double(r.link.rx_packets) / double(r.link.rx_wakeups) : 0.0},
          {"drops", DropsJson(s.drops)},
          {"verify", {{"chosen", r.verify_chosen},
                      {"probes_sent", s.probes_sent},
                      {"answered", s.verify_answered},
                      {"reset", s.verify_reset},
                      {"lost", r.verify_lost}}},
          {"state_bytes", r.state_bytes},
          {"cpu_seconds", r.cpu_seconds},
          {"seconds", r.seconds}};
}

std::string UserlandLoadText(const LoadReport& r) {
  const auto& s = r.stats;
  std::string out;
  out += fmt::format("userland load: {} of {} established in {:.2f} s ({}/s handshakes); {} refused, {} unmatched RSTs ignored\n",
             FormatCount(s.established), FormatCount(r.connections), r.handshake_seconds,
             FormatShort(r.HandshakesPerSecond()), FormatCount(s.refused), FormatCount(s.rst_ignored));
  out += fmt::format("  SYNs:     {} sent, {} resent; {} duplicate SYN-ACKs, {} bad SYN-ACKs reset\n",
             FormatCount(s.syns_sent), FormatCount(s.syns_resent), FormatCount(s.synack_dups),
             FormatCount(s.bad_acks));
  out += fmt::format("  packets:  {} in, {} out ({}/s total); link tx errors {}; dropped: {}\n", FormatCount(s.packets_in),
             FormatCount(s.packets_out), FormatShort(PerSecond(s.packets_in + s.packets_out, r.seconds)),
             FormatCount(r.link.tx_errors), DropsText(s.drops));
  if (r.verify_chosen > 0) {
    out += fmt::format("  verify:   {} random connections probed: {} answered, {} reset, {} lost\n",
               FormatCount(r.verify_chosen), FormatCount(s.verify_answered), FormatCount(s.verify_reset),
               FormatCount(r.verify_lost));
  }
  out += fmt::format("  state:    {} of bitmaps ({:.2f} bits per tuple); {:.1f} s in all\n", FormatBytes(double(r.state_bytes)),
             r.connections ? double(r.state_bytes) * 8 / double(r.connections) : 0.0, r.seconds);
  if (r.link_kind == userland::LinkKind::kAfPacket) {
    out += fmt::format("  link:     af_packet, {} engine thread(s); {} packets dropped by the kernel (receive ring full)\n",
                       r.threads, FormatCount(r.link.rx_ring_drops));
  }
  return out;
}

std::string UserlandLoadProgress(const LoadReport& r) {
  return fmt::format("userland load [{}]: {} / {} established, {} SYN + {} resent, {} answered {} reset",
                     PhaseName(r.phase), FormatCount(r.stats.established), FormatCount(r.connections),
                     FormatCount(r.stats.syns_sent), FormatCount(r.stats.syns_resent),
                     FormatCount(r.stats.verify_answered), FormatCount(r.stats.verify_reset));
}

}  // namespace tcpmax::report

// ServerEngine: the passive side of TCP in user space (`tcpmax userland serve`).
//
// SYNs are answered with SYN cookies, so nothing is stored before the final
// ACK (RFC 4987 3.6). A connection then takes one 16-byte ConnTable slot:
// no file descriptor, no heap allocation, no buffers. In hold mode data is
// ACKed and discarded; in echo mode each byte is sent back at the sequence
// number that mirrors its own (SND - ISS == RCV - IRS), so a retransmitted
// segment regenerates exactly the same echo and nothing needs buffering.
// The server closes as soon as the peer's FIN arrives (FIN+ACK, LAST-ACK).
//
// Unexpected segments get replies under rate limits (reply_limit.h: per
// connection, and a randomised global budget for RFC 5961 challenge ACKs).
// TSval carries a per-connection random offset, as Linux's secure_tcp_ts_off,
// so timestamps do not reveal the host's uptime (RFC 7323 7.1). The table is
// capped at max_connections: a final ACK beyond it is counted (table_full)
// and reset, so the peer does not hold a half-open connection.
//
// IPv4 or IPv6 (one family per engine, the family of its address): an IPv6
// engine keys connections by the peer's low 32 bits and the index of its
// /96 prefix (peer_prefixes.h), 18 bytes a slot; SYN cookies, timestamps'
// offsets and RSTs hash the whole 128-bit addresses.
// Input() takes raw IP packets; replies go to a PacketSink.
// Thread-safety: none; one thread owns an engine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "userland/tcp/conn_table.h"
#include "userland/tcp/packet_sink.h"
#include "userland/tcp/peer_prefixes.h"
#include "userland/tcp/reply_limit.h"
#include "userland/tcp/syn_cookie.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::tcp {

enum class ServeMode { kHold, kEcho };
inline constexpr ServeMode kServeModes[] = {ServeMode::kHold, ServeMode::kEcho};
std::string_view ServeModeName(ServeMode m);  // "hold", "echo"

struct ServerConfig {
  bool v6 = false;                 // the engine's family
  uint32_t ip = 0;                 // host order (IPv4)
  wire::Ip6 ip6;                   // IPv6 (when v6)
  std::vector<uint16_t> ports;     // at most ConnTable::kMaxLocalIndex
  ServeMode mode = ServeMode::kHold;
  uint16_t mss = 1460;             // advertised MSS (TUN MTU 1500; IPv6: 1440)
  uint16_t window = 65535;         // RCV.WND, never scaled (we send window scale 0)
  uint32_t challenge_acks_per_s = 1000;  // RFC 5961 section 7: a randomised budget around this (reply_limit.h)
  uint64_t invalid_reply_interval_ns = 500'000'000;  // per connection (Linux tcp_invalid_ratelimit)
  uint64_t max_connections = 0;    // table cap: the final ACK past it is reset (0: no cap)
};

struct ServerStats {
  uint64_t packets_in = 0, packets_out = 0;
  uint64_t drops[wire::kDropReasons] = {};
  uint64_t not_ours = 0;          // addressed to another IP or family (routed here but not served)
  uint64_t syns = 0;              // SYNs answered with a cookie
  uint64_t cookie_bad = 0;        // ACKs naming no connection whose cookie failed: reset
  uint64_t accepted = 0;          // connections established (cookie validated)
  uint64_t closed = 0;            // closed by FIN exchange
  uint64_t reset_by_peer = 0;     // exact-sequence RST received (RFC 5961 3.2)
  uint64_t rst_sent = 0;          // RSTs for segments naming no connection
  uint64_t challenge_acks = 0;    // RFC 5961 challenge ACKs sent
  uint64_t dup_acks = 0;          // ACKs for unacceptable segments (keepalives, old data)
  uint64_t replies_limited = 0;   // replies to unexpected segments not sent (rate limits)
  uint64_t bytes_in = 0;          // new payload bytes
  uint64_t bytes_echoed = 0;      // payload bytes sent back (echo mode, regenerations included)
  uint64_t table_full = 0;        // final ACKs reset: the table is at --max-connections or could not grow
                                  // (IPv6: or the peer's prefix is one past PeerPrefixes::kMaxPrefixes)
  uint64_t window_limited = 0;    // echo mode: data left unacknowledged to fit the peer's window

  // Sums another engine's counters (several engine threads).
  ServerStats& operator+=(const ServerStats& o) {
    packets_in += o.packets_in, packets_out += o.packets_out;
    for (size_t i = 0; i < wire::kDropReasons; ++i) drops[i] += o.drops[i];
    not_ours += o.not_ours, syns += o.syns, cookie_bad += o.cookie_bad, accepted += o.accepted, closed += o.closed;
    reset_by_peer += o.reset_by_peer, rst_sent += o.rst_sent, challenge_acks += o.challenge_acks;
    dup_acks += o.dup_acks, replies_limited += o.replies_limited, bytes_in += o.bytes_in;
    bytes_echoed += o.bytes_echoed, table_full += o.table_full, window_limited += o.window_limited;
    return *this;
  }

  uint64_t drops_total() const {
    uint64_t n = 0;
    for (uint64_t d : drops) n += d;
    return n;
  }
};

class ServerEngine {
 public:
  ServerEngine(ServerConfig config, SipKey cookie_key0, SipKey cookie_key1, uint64_t table_seed);

  // Pre-sizes the table for `n` connections.
  Result<void> Reserve(uint64_t n) { return table_.Reserve(n); }
  // Faults in the table's pages now (after Reserve), before connections come.
  Result<void> Prefault() { return table_.Prefault(); }

  // Handles one raw IPv4 packet received at `now_ns` (CLOCK_MONOTONIC).
  void Input(std::span<const uint8_t> packet, uint64_t now_ns, PacketSink& out);
  // Handles one parsed segment (tests and the fuzzer call this directly).
  void InputSegment(const wire::Segment& seg, uint64_t now_ns, PacketSink& out);

  const ServerStats& stats() const { return stats_; }
  const ConnTable& table() const { return table_; }
  // IPv6: the distinct /96 prefixes of peers stored so far (0 for IPv4).
  uint32_t peer_prefixes() const { return prefixes_ ? prefixes_->size() : 0; }
  uint64_t established() const { return table_.size(); }

 private:
  void OnListen(const wire::Segment& seg, uint16_t local_index, uint64_t now_ns, PacketSink& out);
  // The table key of the peer of `seg`; false when an IPv6 peer's prefix is
  // unknown (no connection can exist for it).
  bool KeyOf(const wire::Segment& seg, uint16_t local_index, ConnKey* key) const;
  void OnSynchronized(Conn* c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out);
  void OnData(Conn* c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out);
  bool Acceptable(const Conn& c, const wire::Segment& seg) const;
  void SendAck(const Conn& c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out, uint8_t extra_flags = 0,
               uint32_t seq_back = 0);
  void SendChallengeAck(const Conn& c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out);
  void SendEcho(const Conn& c, const wire::Segment& seg, uint32_t offset, uint64_t now_ns, PacketSink& out);
  void SendReset(const wire::Segment& seg, PacketSink& out);
  wire::SegmentSpec ReplyTo(const wire::Segment& seg) const;
  void Emit(const wire::SegmentSpec& spec, PacketSink& out);

  ServerConfig config_;
  // Our TSval for the connection of `seg`: the clock plus a per-tuple offset.
  uint32_t TsVal(const wire::Segment& seg, uint64_t now_ns) const;

  SynCookies cookies_;
  ConnTable table_;
  std::unique_ptr<PeerPrefixes> prefixes_;  // IPv6 only
  ServerStats stats_;
  std::vector<uint16_t> port_index_;  // port -> index + 1; 0: not listening
  ReplyLimiter limiter_;
  SipKey ts_key_;                     // per-tuple timestamp offsets
};

// Our TCP timestamp clock: milliseconds (RFC 7323 5.4 allows 1 ms - 1 s ticks).
inline uint32_t TsClock(uint64_t now_ns) { return uint32_t(now_ns / 1'000'000); }

}  // namespace tcpmax::userland::tcp

// ClientEngine: the active side in the masscan style (`tcpmax userland load`).
//
// Tuples are enumerated, not stored: index i in [0, N) names (source address,
// source port, destination port), the source address varying fastest so the
// connections spread over the whole source range. Our ISN for a tuple is a
// keyed SipHash of it (RFC 6528 3), so a SYN-ACK is validated by its ack
// number alone (SEG.ACK == ISS + 1, RFC 9293 3.10.7.3) and the only state
// kept is one bit per established tuple (plus one per finished and one per
// probed tuple). SYNs for tuples not yet answered are resent in later passes.
//
// Verification: K random established tuples get a keepalive-style probe
// (SEG.SEQ = SND.NXT - 1, no data, SEG.ACK a keyed hash of the tuple). A live
// peer must answer with an ACK of RCV.NXT (RFC 9293 3.10.7.4: an unacceptable
// segment is ACKed); a peer that lost the connection answers
// <SEQ=SEG.ACK><CTL=RST> (3.10.7.2), which is matched exactly.
// RSTs (RFC 5961 3.2): only an exact match is accepted: for a SYN, SEG.ACK ==
// ISS + 1; for a probe, SEG.SEQ == the probe's SEG.ACK. RCV.NXT of an
// established tuple is not kept (one bit per tuple), so any other RST for it
// cannot be checked and is ignored (rst_ignored); verification finds lost
// connections instead.
// IPv6: the sources lie in one /96 (src_prefix6) and are enumerated by their
// low 32 bits exactly as IPv4 addresses are; the target is one address.
// Thread-safety: none; one thread owns an engine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "userland/tcp/packet_sink.h"
#include "userland/tcp/siphash.h"
#include "userland/wire/segment.h"

namespace tcpmax::userland::tcp {

struct ClientConfig {
  bool v6 = false;
  uint32_t src_base = 0;          // host order; IPv6: the low 32 bits of the first source
  uint64_t src_count = 1;         // addresses in the source range (IPv6: src_base + src_count <= 2^32)
  wire::Ip6 src_prefix6;          // IPv6: the /96 of the sources (low 32 bits zero)
  wire::Ip6 dst_ip6;              // IPv6: the target (dst_ip holds its low 32 bits)
  uint16_t sport_lo = 1024;
  uint32_t sport_count = 64512;
  uint32_t dst_ip = 0;
  std::vector<uint16_t> dst_ports;
  uint64_t connections = 0;       // N; REQUIRES N <= TupleSpace()
  uint16_t mss = 1460;
  uint16_t window = 65535;
  uint32_t max_passes = 6;        // first pass plus resends
  uint64_t resend_after_ns = 1'000'000'000;  // wait after a pass before resending
  uint32_t in_flight = 2048;      // at most this many SYNs (or probes) unanswered at a time
  uint64_t stall_ns = 200'000'000;  // no answer for this long: count the unanswered as lost
  uint32_t probe_rounds = 3;      // probe sends per verified tuple at most
  uint64_t probe_wait_ns = 1'000'000'000;

  uint64_t TupleSpace() const { return src_count * sport_count * dst_ports.size(); }
};

struct ClientStats {
  uint64_t packets_in = 0, packets_out = 0;
  uint64_t drops[wire::kDropReasons] = {};
  uint64_t foreign = 0;           // not from the target or not for one of our tuples
  uint64_t syns_sent = 0;         // first SYNs
  uint64_t syns_resent = 0;
  uint64_t established = 0;       // SYN-ACKs validated and ACKed
  uint64_t synack_dups = 0;       // a SYN-ACK for a tuple already established: ACKed again
  uint64_t bad_acks = 0;          // SYN-ACKs with the wrong ack number: reset
  uint64_t refused = 0;           // RST in answer to our SYN
  uint64_t rst_ignored = 0;       // RSTs that could not be matched exactly (RFC 5961 3.2): ignored
  uint64_t other = 0;             // anything else (data, FIN): counted, not answered
  uint64_t probes_sent = 0;
  uint64_t verify_answered = 0;
  uint64_t verify_reset = 0;

  // Sums another engine's counters (several engine threads).
  ClientStats& operator+=(const ClientStats& o) {
    packets_in += o.packets_in, packets_out += o.packets_out;
    for (size_t i = 0; i < wire::kDropReasons; ++i) drops[i] += o.drops[i];
    foreign += o.foreign, syns_sent += o.syns_sent, syns_resent += o.syns_resent, established += o.established;
    synack_dups += o.synack_dups, bad_acks += o.bad_acks, refused += o.refused, rst_ignored += o.rst_ignored;
    other += o.other, probes_sent += o.probes_sent, verify_answered += o.verify_answered;
    verify_reset += o.verify_reset;
    return *this;
  }
};

class ClientEngine {
 public:
  ClientEngine(ClientConfig config, SipKey isn_key);

  void Input(std::span<const uint8_t> packet, uint64_t now_ns, PacketSink& out);
  void InputSegment(const wire::Segment& seg, uint64_t now_ns, PacketSink& out);

  // Sends up to `budget` SYNs (first ones, then resends after each pass's
  // wait), keeping at most config.window unanswered: the answers clock the
  // sending, so neither TUN queue overflows whatever the CPU left for the
  // peer. Returns how many it sent.
  uint64_t SendSyns(uint64_t budget, uint64_t now_ns, PacketSink& out);
  // True when every tuple is established or refused, or the last resend pass
  // has had its wait.
  bool HandshakesDone(uint64_t now_ns) const;

  // Chooses min(k, established) distinct established tuples at random.
  void StartVerify(uint64_t k, uint64_t seed);
  uint64_t SendProbes(uint64_t budget, uint64_t now_ns, PacketSink& out);
  bool VerifyDone(uint64_t now_ns) const;
  uint64_t verify_chosen() const { return probe_list_.size(); }
  uint64_t verify_lost() const { return probe_list_.size() - stats_.verify_answered - stats_.verify_reset; }

  const ClientStats& stats() const { return stats_; }
  const ClientConfig& config() const { return config_; }
  uint64_t bitmap_bytes() const { return (established_.size() + done_.size() + probed_.size()) * 8; }

  // The tuple of index i, and back (nullopt-like: returns false when the
  // tuple is not one of ours). Public for tests.
  struct Tuple {
    uint32_t src_ip;
    uint16_t src_port;
    uint16_t dst_port;
  };
  Tuple TupleAt(uint64_t i) const;
  bool IndexOf(uint32_t src_ip, uint16_t src_port, uint16_t dst_port, uint64_t* i) const;
  uint32_t Isn(const Tuple& t) const;
  // The SEG.ACK of our probes for `t`: unpredictable without the key.
  uint32_t ProbeAck(const Tuple& t) const;
  bool IsEstablished(uint64_t i) const { return Get(established_, i); }

 private:
  static bool Get(const std::vector<uint64_t>& b, uint64_t i) { return (b[i >> 6] >> (i & 63)) & 1; }
  static void Set(std::vector<uint64_t>& b, uint64_t i) { b[i >> 6] |= uint64_t(1) << (i & 63); }
  static void Clear(std::vector<uint64_t>& b, uint64_t i) { b[i >> 6] &= ~(uint64_t(1) << (i & 63)); }
  void SendSyn(uint64_t i, PacketSink& out);
  void SendProbe(uint64_t i, PacketSink& out);
  void Emit(const wire::SegmentSpec& s, PacketSink& out);
  void OnRst(uint64_t i, const Tuple& t, const wire::Segment& seg);
  // A segment of tuple `t` from us to the target (addresses and ports set).
  wire::SegmentSpec SpecFor(const Tuple& t) const;
  // True when `seg` comes from the target to our source range.
  bool FromTarget(const wire::Segment& seg) const;

  ClientConfig config_;
  SipKey isn_key_;
  SipKey probe_key_;
  ClientStats stats_;
  std::vector<uint64_t> established_, done_, probed_;
  uint64_t cursor_ = 0;
  uint32_t pass_ = 0;
  uint64_t pass_ended_ns_ = 0;
  bool pass_waiting_ = false;
  uint64_t InFlight(uint64_t now_ns);
  uint64_t answers() const {
    return stats_.established + stats_.refused + stats_.synack_dups + stats_.verify_answered + stats_.verify_reset +
           stats_.bad_acks;
  }

  uint64_t sent_ = 0, written_off_ = 0, last_answers_ = 0, last_answer_ns_ = 0;
  std::vector<uint64_t> probe_list_;
  uint64_t probe_cursor_ = 0;
  uint32_t probe_round_ = 0;
  uint64_t probe_round_ended_ns_ = 0;
  bool probe_waiting_ = false;
};

}  // namespace tcpmax::userland::tcp

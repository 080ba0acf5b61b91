#include "userland/tcp/client.h"

#include <algorithm>

namespace tcpmax::userland::tcp {
namespace {

using wire::kAck;
using wire::kRst;
using wire::kSyn;

uint64_t SplitMix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

ClientEngine::ClientEngine(ClientConfig config, SipKey isn_key)
    : config_(std::move(config)),
      isn_key_(isn_key),
      probe_key_{SipHash24Words(isn_key, 0x70726f6265ull, 0), SipHash24Words(isn_key, 0x70726f6265ull, 1)} {
  size_t words = size_t((config_.connections + 63) / 64);
  established_.assign(words, 0);
  done_.assign(words, 0);
  probed_.assign(words, 0);
}

ClientEngine::Tuple ClientEngine::TupleAt(uint64_t i) const {
  uint64_t a = i % config_.src_count;
  uint64_t r = i / config_.src_count;
  uint64_t nd = config_.dst_ports.size();
  return Tuple{uint32_t(config_.src_base + a), uint16_t(config_.sport_lo + r / nd), config_.dst_ports[r % nd]};
}

bool ClientEngine::IndexOf(uint32_t src_ip, uint16_t src_port, uint16_t dst_port, uint64_t* i) const {
  uint64_t a = uint32_t(src_ip - config_.src_base);
  if (a >= config_.src_count || src_port < config_.sport_lo) return false;
  uint64_t s = src_port - config_.sport_lo;
  if (s >= config_.sport_count) return false;
  auto it = std::find(config_.dst_ports.begin(), config_.dst_ports.end(), dst_port);
  if (it == config_.dst_ports.end()) return false;
  uint64_t d = uint64_t(it - config_.dst_ports.begin());
  *i = a + config_.src_count * (d + config_.dst_ports.size() * s);
  return *i < config_.connections;
}

uint32_t ClientEngine::Isn(const Tuple& t) const {
  uint64_t m0 = (uint64_t(t.src_ip) << 32) | config_.dst_ip;
  uint64_t m1 = (uint64_t(t.src_port) << 16) | t.dst_port;
  return uint32_t(SipHash24Words(isn_key_, m0, m1));
}

uint32_t ClientEngine::ProbeAck(const Tuple& t) const {
  uint64_t m0 = (uint64_t(t.src_ip) << 32) | config_.dst_ip;
  uint64_t m1 = (uint64_t(t.src_port) << 16) | t.dst_port;
  return uint32_t(SipHash24Words(probe_key_, m0, m1));
}

void ClientEngine::Emit(const wire::SegmentSpec& s, PacketSink& out) {
  ++stats_.packets_out;
  out.Send(s);
}

wire::SegmentSpec ClientEngine::SpecFor(const Tuple& t) const {
  wire::SegmentSpec s;
  s.v6 = config_.v6;
  s.src_ip = t.src_ip;
  s.dst_ip = config_.dst_ip;
  if (config_.v6) {
    s.src_ip6 = wire::Ip6{config_.src_prefix6.hi, config_.src_prefix6.lo | t.src_ip};
    s.dst_ip6 = config_.dst_ip6;
  }
  s.src_port = t.src_port;
  s.dst_port = t.dst_port;
  return s;
}

bool ClientEngine::FromTarget(const wire::Segment& seg) const {
  if (seg.v6 != config_.v6) return false;
  if (!seg.v6) return seg.src_ip == config_.dst_ip;
  return seg.src_ip6 == config_.dst_ip6 && seg.dst_ip6.Prefix96() == config_.src_prefix6;
}

void ClientEngine::SendSyn(uint64_t i, PacketSink& out) {
  Tuple t = TupleAt(i);
  wire::SegmentSpec s = SpecFor(t);
  s.seq = Isn(t);
  s.flags = kSyn;
  s.window = config_.window;
  s.mss = config_.mss;
  Emit(s, out);
}

// Unanswered SYNs and probes; when nothing came back for stall_ns they are
// written off (they get resent in the next pass or probe round).
uint64_t ClientEngine::InFlight(uint64_t now_ns) {
  uint64_t a = answers();
  if (a != last_answers_) {
    last_answers_ = a;
    last_answer_ns_ = now_ns;
  } else if (now_ns - last_answer_ns_ >= config_.stall_ns) {
    written_off_ = sent_ - std::min(sent_, a);
    last_answer_ns_ = now_ns;
  }
  uint64_t done = a + written_off_;
  return sent_ > done ? sent_ - done : 0;
}

uint64_t ClientEngine::SendSyns(uint64_t budget, uint64_t now_ns, PacketSink& out) {
  uint64_t in_flight = InFlight(now_ns);
  budget = std::min<uint64_t>(budget, in_flight >= config_.in_flight ? 0 : config_.in_flight - in_flight);
  uint64_t sent = 0;
  while (sent < budget && pass_ < config_.max_passes) {
    if (pass_waiting_) {
      if (pass_ + 1 >= config_.max_passes) break;
      if (now_ns - pass_ended_ns_ < config_.resend_after_ns) break;
      pass_waiting_ = false;
      ++pass_;
      cursor_ = 0;
      continue;
    }
    if (cursor_ >= config_.connections) {
      pass_waiting_ = true;
      pass_ended_ns_ = now_ns;
      continue;
    }
    uint64_t i = cursor_++;
    if (Get(done_, i)) continue;
    SendSyn(i, out);
    ++(pass_ == 0 ? stats_.syns_sent : stats_.syns_resent);
    ++sent;
    ++sent_;
  }
  return sent;
}

bool ClientEngine::HandshakesDone(uint64_t now_ns) const {
  if (stats_.established + stats_.refused >= config_.connections) return true;
  return pass_ + 1 >= config_.max_passes && pass_waiting_ && now_ns - pass_ended_ns_ >= config_.resend_after_ns;
}

void ClientEngine::Input(std::span<const uint8_t> packet, uint64_t now_ns, PacketSink& out) {
  ++stats_.packets_in;
  wire::Segment seg;
  wire::ParseResult r = wire::ParseSegment(packet, &seg);
  if (!r.ok) {
    ++stats_.drops[size_t(r.reason)];
    return;
  }
  InputSegment(seg, now_ns, out);
}

void ClientEngine::OnRst(uint64_t i, const Tuple& t, const wire::Segment& seg) {
  if (Get(probed_, i) && seg.seq == ProbeAck(t)) {  // the peer no longer knows a verified connection
    Clear(probed_, i);
    ++stats_.verify_reset;
    return;
  }
  if (Get(established_, i)) {
    // RFC 5961 3.2 accepts only SEG.SEQ == RCV.NXT, which we do not keep: a
    // RST we cannot match exactly is ignored (a blind RST must not count).
    ++stats_.rst_ignored;
    return;
  }
  // SYN-SENT (RFC 9293 3.10.7.3): a RST is acceptable if it acks our SYN.
  if (seg.Has(kAck) && seg.ack == Isn(t) + 1 && !Get(done_, i)) {
    Set(done_, i);
    ++stats_.refused;
  } else {
    ++stats_.foreign;
  }
}

void ClientEngine::InputSegment(const wire::Segment& seg, uint64_t, PacketSink& out) {
  uint64_t i = 0;
  if (!FromTarget(seg) || !IndexOf(seg.dst_ip, seg.dst_port, seg.src_port, &i)) {
    ++stats_.foreign;
    return;
  }
  Tuple t = TupleAt(i);
  uint32_t iss = Isn(t);
  if (seg.Has(kRst)) {
    OnRst(i, t, seg);
    return;
  }
  if (seg.Has(kSyn) && seg.Has(kAck)) {
    wire::SegmentSpec s = SpecFor(t);
    s.window = config_.window;
    if (seg.ack != iss + 1) {
      // SYN-SENT: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST> (3.10.7.3).
      ++stats_.bad_acks;
      s.seq = seg.ack;
      s.flags = kRst;
      s.window = 0;
      Emit(s, out);
      return;
    }
    if (Get(established_, i)) {
      ++stats_.synack_dups;  // our ACK was lost and the peer retransmitted
    } else {
      Set(established_, i);
      Set(done_, i);
      ++stats_.established;
    }
    s.seq = iss + 1;
    s.ack = seg.seq + 1;
    s.flags = kAck;
    Emit(s, out);
    return;
  }
  if (seg.Has(kAck) && Get(probed_, i) && seg.ack == iss + 1 && seg.SegLen() == 0) {
    Clear(probed_, i);
    ++stats_.verify_answered;
    return;
  }
  ++stats_.other;
}

void ClientEngine::StartVerify(uint64_t k, uint64_t seed) {
  probe_list_.clear();
  std::fill(probed_.begin(), probed_.end(), 0);
  probe_cursor_ = 0;
  probe_round_ = 0;
  probe_waiting_ = false;
  uint64_t est = stats_.established;
  if (k >= est) {
    for (uint64_t i = 0; i < config_.connections; ++i)
      if (Get(established_, i)) probe_list_.push_back(i);
  } else {
    // Rejection sampling: expected N/est draws per pick.
    probe_list_.reserve(size_t(k));
    while (probe_list_.size() < k) {
      uint64_t i = SplitMix64(seed) % config_.connections;
      if (!Get(established_, i) || Get(probed_, i)) continue;
      Set(probed_, i);
      probe_list_.push_back(i);
    }
  }
  for (uint64_t i : probe_list_) Set(probed_, i);
}

void ClientEngine::SendProbe(uint64_t i, PacketSink& out) {
  Tuple t = TupleAt(i);
  wire::SegmentSpec s = SpecFor(t);
  s.seq = Isn(t);  // SND.NXT - 1: outside the peer's window, so it must be ACKed
  s.ack = ProbeAck(t);  // the peer checks the sequence number first; a RST must echo this
  s.flags = kAck;
  s.window = config_.window;
  ++stats_.probes_sent;
  Emit(s, out);
}

uint64_t ClientEngine::SendProbes(uint64_t budget, uint64_t now_ns, PacketSink& out) {
  uint64_t in_flight = InFlight(now_ns);
  budget = std::min<uint64_t>(budget, in_flight >= config_.in_flight ? 0 : config_.in_flight - in_flight);
  uint64_t sent = 0;
  while (sent < budget && probe_round_ < config_.probe_rounds) {
    if (probe_waiting_) {
      if (probe_round_ + 1 >= config_.probe_rounds) break;
      if (now_ns - probe_round_ended_ns_ < config_.probe_wait_ns) break;
      if (stats_.verify_answered + stats_.verify_reset == probe_list_.size()) break;
      probe_waiting_ = false;
      ++probe_round_;
      probe_cursor_ = 0;
      continue;
    }
    if (probe_cursor_ >= probe_list_.size()) {
      probe_waiting_ = true;
      probe_round_ended_ns_ = now_ns;
      continue;
    }
    uint64_t i = probe_list_[probe_cursor_++];
    if (!Get(probed_, i)) continue;  // already answered
    SendProbe(i, out);
    ++sent;
    ++sent_;
  }
  return sent;
}

bool ClientEngine::VerifyDone(uint64_t now_ns) const {
  if (stats_.verify_answered + stats_.verify_reset == probe_list_.size()) return true;
  return probe_round_ + 1 >= config_.probe_rounds && probe_waiting_ &&
         now_ns - probe_round_ended_ns_ >= config_.probe_wait_ns;
}

}  // namespace tcpmax::userland::tcp

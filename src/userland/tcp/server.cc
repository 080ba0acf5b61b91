#include "userland/tcp/server.h"

#include <algorithm>

#include "userland/tcp/seq.h"

namespace tcpmax::userland::tcp {
namespace {

using wire::kAck;
using wire::kFin;
using wire::kRst;
using wire::kSyn;

// The most the peer may lag behind SND.NXT in its ACKs before we call the
// ACK too old (RFC 5961 5.2 MAX.SND.WND: we keep no per-connection maximum,
// so we allow the largest window a peer can advertise, 2^30).
constexpr uint32_t kMaxSndWnd = 1u << 30;

// Linux's cookie_init_timestamp: our clock (`now`, offset included) with the
// low bits replaced by the options to remember, never ahead of the clock.
uint32_t CookieTsVal(uint32_t now, uint32_t options) {
  uint32_t ts = (now & ~0xfu) | options;
  return Seq(ts) > Seq(now) ? ts - 16 : ts;
}

SipKey DeriveKey(const SipKey& from, uint64_t label) {
  return SipKey{SipHash24Words(from, label, 0), SipHash24Words(from, label, 1)};
}

}  // namespace

std::string_view ServeModeName(ServeMode m) { return m == ServeMode::kEcho ? "echo" : "hold"; }

ServerEngine::ServerEngine(ServerConfig config, SipKey cookie_key0, SipKey cookie_key1, uint64_t table_seed)
    : config_(std::move(config)),
      cookies_(cookie_key0, cookie_key1),
      table_(table_seed, config_.v6),
      prefixes_(config_.v6 ? std::make_unique<PeerPrefixes>(table_seed ^ cookie_key0.k1) : nullptr),
      port_index_(65536, 0),
      limiter_(config_.challenge_acks_per_s, config_.invalid_reply_interval_ns, table_seed ^ cookie_key1.k0),
      ts_key_(DeriveKey(cookie_key1, 0x7473'6f66'6673'6574ull)) {
  size_t n = std::min<size_t>(config_.ports.size(), ConnTable::kMaxLocalIndex);
  for (size_t i = 0; i < n; ++i) port_index_[config_.ports[i]] = uint16_t(i + 1);
}

void ServerEngine::Input(std::span<const uint8_t> packet, uint64_t now_ns, PacketSink& out) {
  ++stats_.packets_in;
  wire::Segment seg;
  wire::ParseResult r = wire::ParseSegment(packet, &seg);
  if (!r.ok) {
    ++stats_.drops[size_t(r.reason)];
    return;
  }
  InputSegment(seg, now_ns, out);
}

bool ServerEngine::KeyOf(const wire::Segment& seg, uint16_t local_index, ConnKey* key) const {
  *key = ConnKey{seg.src_ip, seg.src_port, local_index};
  if (!seg.v6) return true;
  std::optional<uint16_t> p = prefixes_->Find(seg.src_ip6.Prefix96());
  if (!p) return false;
  key->prefix = *p;
  return true;
}

void ServerEngine::InputSegment(const wire::Segment& seg, uint64_t now_ns, PacketSink& out) {
  bool ours = seg.v6 == config_.v6 && (seg.v6 ? seg.dst_ip6 == config_.ip6 : seg.dst_ip == config_.ip);
  if (!ours) {
    ++stats_.not_ours;
    return;
  }
  uint16_t idx1 = port_index_[seg.dst_port];
  if (idx1 == 0) {
    // RFC 9293 3.10.7.1: a segment for a port nobody listens on (CLOSED).
    SendReset(seg, out);
    return;
  }
  ConnKey key;
  Conn* c = KeyOf(seg, uint16_t(idx1 - 1), &key) ? table_.Find(key) : nullptr;
  if (c != nullptr) {
    OnSynchronized(c, seg, now_ns, out);
  } else {
    OnListen(seg, key.local_index, now_ns, out);
  }
}

uint32_t ServerEngine::TsVal(const wire::Segment& seg, uint64_t now_ns) const {
  if (seg.v6) {
    const uint64_t words[5] = {seg.src_ip6.hi, seg.src_ip6.lo, seg.dst_ip6.hi, seg.dst_ip6.lo,
                               (uint64_t(seg.src_port) << 16) | seg.dst_port};
    return TsClock(now_ns) + uint32_t(SipHash24Words(ts_key_, words));
  }
  uint64_t m0 = (uint64_t(seg.src_ip) << 32) | seg.dst_ip;
  uint64_t m1 = (uint64_t(seg.src_port) << 16) | seg.dst_port;
  return TsClock(now_ns) + uint32_t(SipHash24Words(ts_key_, m0, m1));
}

wire::SegmentSpec ServerEngine::ReplyTo(const wire::Segment& seg) const {
  wire::SegmentSpec s;
  s.v6 = seg.v6;
  s.src_ip = seg.dst_ip;
  s.dst_ip = seg.src_ip;
  s.src_ip6 = seg.dst_ip6;
  s.dst_ip6 = seg.src_ip6;
  s.src_port = seg.dst_port;
  s.dst_port = seg.src_port;
  s.window = config_.window;
  return s;
}

void ServerEngine::Emit(const wire::SegmentSpec& spec, PacketSink& out) {
  ++stats_.packets_out;
  out.Send(spec);
}

// RFC 9293 3.10.7.1 (CLOSED) and 3.10.7.2 (LISTEN, ACK bit on): never answer
// a RST; if the ACK bit is on send <SEQ=SEG.ACK><CTL=RST>, otherwise
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
void ServerEngine::SendReset(const wire::Segment& seg, PacketSink& out) {
  if (seg.Has(kRst)) return;
  wire::SegmentSpec s = ReplyTo(seg);
  s.window = 0;
  if (seg.Has(kAck)) {
    s.seq = seg.ack;
    s.flags = kRst;
  } else {
    s.seq = 0;
    s.ack = seg.seq + seg.SegLen();
    s.flags = kRst | kAck;
  }
  ++stats_.rst_sent;
  Emit(s, out);
}

// LISTEN (RFC 9293 3.10.7.2) with SYN-RECEIVED folded into the cookie.
void ServerEngine::OnListen(const wire::Segment& seg, uint16_t local_index, uint64_t now_ns, PacketSink& out) {
  if (seg.Has(kRst)) return;  // first: an incoming RST is ignored
  FourTuple t = FourTuple::Of(seg);
  if (seg.Has(kAck)) {
    // Second: any ACK in LISTEN is bad -- unless it is the third segment of a
    // cookie handshake, SEG.ACK = cookie + 1 (RFC 4987 3.6).
    std::optional<uint32_t> mss_index;
    if (!seg.Has(kSyn)) mss_index = cookies_.Check(t, seg.seq - 1, seg.ack - 1, now_ns);
    if (!mss_index) {
      ++stats_.cookie_bad;
      SendReset(seg, out);
      return;
    }
    bool full = config_.max_connections != 0 && table_.size() >= config_.max_connections;
    ConnKey key{seg.src_ip, seg.src_port, local_index};
    if (seg.v6 && !full) {
      std::optional<uint16_t> prefix = prefixes_->Intern(seg.src_ip6.Prefix96());
      full = !prefix;
      key.prefix = prefix.value_or(0);
    }
    auto inserted = full ? Result<Conn*>(PlainError("full")) : table_.Insert(key);
    if (!inserted) {
      // As Linux with tcp_abort_on_overflow: reset, so the peer does not hold
      // a connection we never stored.
      ++stats_.table_full;
      SendReset(seg, out);
      return;
    }
    Conn* c = *inserted;
    c->rcv_nxt = seg.seq;   // IRS + 1
    c->snd_nxt = seg.ack;   // ISS + 1
    c->set_ts_ok(seg.options.has_timestamps);
    c->set_mss_index(*mss_index);
    c->set_peer_wscale(seg.options.has_timestamps ? (seg.options.ts_ecr & 0xf) : Conn::kNoWindowScale);
    ++stats_.accepted;
    // The ACK may carry data or a FIN already (RFC 9293 3.10.7.4 step 6-8).
    if (!seg.payload.empty() || seg.Has(kFin)) OnData(c, seg, now_ns, out);
    return;
  }
  if (!seg.Has(kSyn)) return;  // fourth: other text or control, drop
  // Third: a SYN. Answer <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> with ISS a cookie.
  // Options (RFC 9293 3.7.1 MSS; RFC 7323 2.2 and 3.2: WS and TS only when the
  // SYN carried them). As Linux does with cookies, window scaling needs
  // timestamps: the peer's shift rides in the low 4 bits of our TSval and
  // comes back in the final ACK's TSecr. SACK-permitted is parsed and
  // declined: there is no retransmission queue for SACK blocks to act on.
  ++stats_.syns;
  uint32_t mss_index = SynCookies::MssIndex(seg.options.mss, seg.v6);
  wire::SegmentSpec s = ReplyTo(seg);
  s.seq = cookies_.Make(t, seg.seq, mss_index, now_ns);
  s.ack = seg.seq + 1;
  s.flags = kSyn | kAck;
  s.mss = config_.mss;
  if (seg.options.has_timestamps) {
    bool ws = seg.options.wscale >= 0;
    if (ws) s.wscale = 0;  // our window is never scaled
    s.timestamps = true;
    s.ts_val = CookieTsVal(TsVal(seg, now_ns), ws ? uint32_t(seg.options.wscale) : Conn::kNoWindowScale);
    s.ts_ecr = seg.options.ts_val;
  }
  Emit(s, out);
}

// RFC 9293 3.10.7.4, first: the acceptability test of the four cases.
bool ServerEngine::Acceptable(const Conn& c, const wire::Segment& seg) const {
  Seq rcv_nxt(c.rcv_nxt);
  Seq end = rcv_nxt + config_.window;
  Seq seq(seg.seq);
  uint32_t len = seg.SegLen();
  if (len == 0) return InWindow(seq, rcv_nxt, end);
  return InWindow(seq, rcv_nxt, end) || InWindow(seq + (len - 1), rcv_nxt, end);
}

void ServerEngine::SendAck(const Conn& c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out,
                           uint8_t extra_flags, uint32_t seq_back) {
  wire::SegmentSpec s = ReplyTo(seg);
  s.seq = c.snd_nxt - seq_back;
  s.ack = c.rcv_nxt;
  s.flags = kAck | extra_flags;
  if (c.ts_ok()) {
    s.timestamps = true;
    s.ts_val = TsVal(seg, now_ns);
    s.ts_ecr = seg.options.ts_val;
  }
  Emit(s, out);
}

// RFC 5961 section 7: challenge ACKs are rate limited, per connection and by
// a randomised global budget (reply_limit.h).
void ServerEngine::SendChallengeAck(const Conn& c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out) {
  if (!limiter_.AllowChallenge(table_.KeyOf(c), now_ns)) {
    ++stats_.replies_limited;
    return;
  }
  ++stats_.challenge_acks;
  SendAck(c, seg, now_ns, out);
}

// Echo: payload byte at peer sequence s goes back at our sequence
// s + (SND.NXT - RCV.NXT), in pieces no larger than the peer's MSS.
void ServerEngine::SendEcho(const Conn& c, const wire::Segment& seg, uint32_t offset, uint64_t now_ns,
                            PacketSink& out) {
  uint16_t mss = SynCookies::MssTable(config_.v6)[c.mss_index()];
  size_t done = 0;
  while (done < seg.payload.size()) {
    size_t n = std::min<size_t>(mss, seg.payload.size() - done);
    wire::SegmentSpec s = ReplyTo(seg);
    s.seq = seg.seq + uint32_t(done) + offset;
    s.ack = c.rcv_nxt;
    s.flags = kAck | wire::kPsh;
    if (c.ts_ok()) {
      s.timestamps = true;
      s.ts_val = TsVal(seg, now_ns);
      s.ts_ecr = seg.options.ts_val;
    }
    s.payload = seg.payload.subspan(done, n);
    stats_.bytes_echoed += n;
    Emit(s, out);
    done += n;
  }
}

void ServerEngine::OnSynchronized(Conn* c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out) {
  if (!Acceptable(*c, seg)) {
    // RFC 9293 3.10.7.4 first: if not acceptable, send <SEQ=SND.NXT>
    // <ACK=RCV.NXT><CTL=ACK> (unless RST) and drop. This answers keepalives.
    if (seg.Has(kRst)) return;
    ++stats_.dup_acks;
    // Replies to unacceptable segments are rate limited per connection (Linux
    // tcp_oow_rate_limited): a flood of them is not reflected 1:1.
    if (!limiter_.AllowOutOfWindow(table_.KeyOf(*c), now_ns)) {
      ++stats_.replies_limited;
      return;
    }
    bool old_data = !seg.payload.empty() && Seq(seg.seq + uint32_t(seg.payload.size())) <= Seq(c->rcv_nxt);
    if (config_.mode == ServeMode::kEcho && old_data && seg.payload.size() > 1) {
      SendEcho(*c, seg, c->snd_nxt - c->rcv_nxt, now_ns, out);  // a retransmission: the same echo again
    } else if (c->state() == ConnState::kLastAck && seg.Has(kFin) && seg.seq + seg.payload.size() + 1 == c->rcv_nxt) {
      SendAck(*c, seg, now_ns, out, kFin, 1);  // the peer lost our FIN: send it again
    } else {
      SendAck(*c, seg, now_ns, out);
    }
    return;
  }
  if (seg.Has(kRst)) {
    // RFC 5961 3.2: reset only on an exact match, else a challenge ACK.
    if (seg.seq == c->rcv_nxt) {
      ++stats_.reset_by_peer;
      table_.Erase(c);
    } else {
      SendChallengeAck(*c, seg, now_ns, out);
    }
    return;
  }
  if (seg.Has(kSyn)) {
    SendChallengeAck(*c, seg, now_ns, out);  // RFC 5961 4.2
    return;
  }
  if (!seg.Has(kAck)) return;  // RFC 9293 3.10.7.4 fifth: no ACK, drop
  Seq ack(seg.ack), snd_nxt(c->snd_nxt);
  if (ack > snd_nxt) {
    // Acks something not yet sent: ACK (rate limited, as above), drop.
    if (limiter_.AllowOutOfWindow(table_.KeyOf(*c), now_ns)) {
      SendAck(*c, seg, now_ns, out);
    } else {
      ++stats_.replies_limited;
    }
    return;
  }
  if (ack < snd_nxt - kMaxSndWnd) {
    SendChallengeAck(*c, seg, now_ns, out);  // RFC 5961 5.2: too old
    return;
  }
  if (c->state() == ConnState::kLastAck) {
    if (ack == snd_nxt) {  // our FIN is acknowledged: CLOSED
      ++stats_.closed;
      table_.Erase(c);
    }
    return;
  }
  if (!seg.payload.empty() || seg.Has(kFin)) OnData(c, seg, now_ns, out);
}

// ESTABLISHED, sixth to eighth steps: the segment text and FIN. Only
// in-order data is taken (no reassembly queue); a later segment gets a
// duplicate ACK and the peer retransmits.
void ServerEngine::OnData(Conn* c, const wire::Segment& seg, uint64_t now_ns, PacketSink& out) {
  Seq rcv_nxt(c->rcv_nxt);
  if (Seq(seg.seq) > rcv_nxt) {
    ++stats_.dup_acks;
    SendAck(*c, seg, now_ns, out);
    return;
  }
  Seq data_end = Seq(seg.seq) + uint32_t(seg.payload.size());
  uint32_t fresh = data_end > rcv_nxt ? uint32_t(data_end - rcv_nxt) : 0;
  bool echo = config_.mode == ServeMode::kEcho && !seg.payload.empty();
  uint32_t offset = c->snd_nxt - c->rcv_nxt;  // the mirror offset, before advancing
  wire::Segment taken = seg;
  if (echo) {
    // Flow control without buffers: take only the data whose echo fits the
    // peer's receive window (RFC 9293 3.8.6: SEG.ACK + SEG.WND is its right
    // edge). The rest is left unacknowledged; the peer sends it again and
    // that copy is echoed then.
    uint32_t shift = c->peer_wscale() == Conn::kNoWindowScale ? 0 : c->peer_wscale();
    Seq right_edge = Seq(seg.ack) + (uint32_t(seg.window) << shift);
    Seq echo_end = data_end + offset;
    if (echo_end > right_edge) {
      uint32_t over = uint32_t(echo_end - right_edge);
      uint32_t keep = over >= seg.payload.size() ? 0 : uint32_t(seg.payload.size()) - over;
      taken.payload = seg.payload.subspan(0, keep);
      taken.flags &= uint8_t(~kFin);
      data_end = Seq(seg.seq) + keep;
      fresh = data_end > rcv_nxt ? uint32_t(data_end - rcv_nxt) : 0;
      ++stats_.window_limited;
    }
  }
  stats_.bytes_in += fresh;
  c->rcv_nxt += fresh;
  if (echo) {
    c->snd_nxt += fresh;
    if (taken.payload.empty()) {
      SendAck(*c, seg, now_ns, out);
      return;
    }
    SendEcho(*c, taken, offset, now_ns, out);  // carries the ACK of the data
  }
  bool fin = taken.Has(kFin) && data_end == Seq(c->rcv_nxt);
  if (fin) {
    // CLOSE-WAIT, and at once our own close: <FIN,ACK>, LAST-ACK (3.10.4).
    c->rcv_nxt += 1;
    SendAck(*c, seg, now_ns, out, kFin);
    c->snd_nxt += 1;
    c->set_state(ConnState::kLastAck);
    return;
  }
  if (!echo && !seg.payload.empty()) SendAck(*c, seg, now_ns, out);
}

}  // namespace tcpmax::userland::tcp

// The io_uring connector engine with direct descriptors (see connector.h).
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/fd.h"
#include "load/connector.h"
#include "load/connector_core.h"
#include "sys/buf_ring.h"
#include "sys/process.h"
#include "sys/uring_sends.h"
#include "core/token_bucket.h"

namespace tcpmax::load {
namespace {

constexpr uint64_t kFree = 0;
constexpr uint64_t kClosing = 2;
// Larger values carry a time in their upper bits and a tag in the low three:
// 4 connecting since then, 5 held (established) since then.
constexpr uint64_t kConnectingTag = 4, kHeldTag = 5;
constexpr uint64_t Since(uint64_t t, uint64_t tag) { return (t & ~uint64_t{7}) | tag; }
constexpr bool Connecting(uint64_t s) { return s >= 4 && (s & 7) == kConnectingTag; }
constexpr bool Held(uint64_t s) { return s >= 4 && (s & 7) == kHeldTag; }
constexpr unsigned kSqEntries = 1024;
constexpr unsigned kCqEntries = 8192;

enum Op : uint64_t { kConnect = 1, kLinkTimeout, kRecv, kSend, kClose, kSetup, kSessionSend, kCancel };
constexpr uint64_t kSetupFailed = 3;

// Opcodes and socket commands newer than Debian's liburing 2.3 headers
// (kernel uapi values; the SQE fields are filled by hand below).
constexpr uint8_t kOpBind = 56;                 // IORING_OP_BIND, Linux 6.11
constexpr uint32_t kSocketCmdSetsockopt = 3;    // SOCKET_URING_OP_SETSOCKOPT, Linux 6.7

// Option values the kernel reads at execution time: they must outlive the ops.
const linger kLingerRst{1, 0};
const int kOne = 1;

// Whether this kernel can create, configure and bind sockets inside the ring
// (IORING_OP_SOCKET, URING_CMD setsockopt, IORING_OP_BIND): then a connection
// costs no system call of its own.
bool RingSocketSetup(io_uring* ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(ring);
  if (probe == nullptr) return false;
  bool ok = io_uring_opcode_supported(probe, IORING_OP_SOCKET) &&
            io_uring_opcode_supported(probe, IORING_OP_URING_CMD) && io_uring_opcode_supported(probe, kOpBind);
  io_uring_free_probe(probe);
  return ok;
}

// URING_CMD setsockopt on a direct descriptor; `value` must stay valid.
void PrepSetsockopt(io_uring_sqe* sqe, uint32_t slot, int level, int name, const void* value, uint32_t len) {
  std::memset(sqe, 0, sizeof *sqe);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = static_cast<int>(slot);
  sqe->flags = IOSQE_FIXED_FILE;
  sqe->cmd_op = kSocketCmdSetsockopt;
  sqe->addr = static_cast<uint32_t>(level) | (static_cast<uint64_t>(static_cast<uint32_t>(name)) << 32);
  sqe->file_index = len;  // optlen
  sqe->addr3 = reinterpret_cast<uint64_t>(value);  // optval
}

// IORING_OP_BIND on a direct descriptor; the address is copied at submit.
void PrepBind(io_uring_sqe* sqe, uint32_t slot, const sockaddr* addr, socklen_t len) {
  std::memset(sqe, 0, sizeof *sqe);
  sqe->opcode = kOpBind;
  sqe->fd = static_cast<int>(slot);
  sqe->flags = IOSQE_FIXED_FILE;
  sqe->addr = reinterpret_cast<uint64_t>(addr);
  sqe->addr2 = len;
}

// user_data: the op in the top byte, the slot's generation (sessions) in the
// next 16 bits, the slot in the low 32. A session send's user_data is
// instead kSessionSend over its block (sys::UringSends).
uint64_t Tag(Op op, uint32_t slot, uint16_t gen = 0) { return (uint64_t{op} << 56) | (uint64_t{gen} << 32) | slot; }
Op TagOp(uint64_t tag) { return static_cast<Op>(tag >> 56); }
uint32_t TagSlot(uint64_t tag) { return static_cast<uint32_t>(tag); }
uint16_t TagGen(uint64_t tag) { return static_cast<uint16_t>(tag >> 32); }

// The session layer's receive buffers, per ring: a multishot recv per
// session draws from them and gives each back once the driver has read it.
// Completions are posted in bursts (all the task work pending when the
// thread enters the kernel), so the pool is sized for bursts of small
// messages: with 512 x 4 KiB, 100,000 echo sessions at 1/s ran dry 7.8
// million times in one bench run (each a multishot recv to re-arm); with
// 2,048 x 2 KiB (4 MiB a ring), not once.
constexpr unsigned kSessionBuffers = 2048;
constexpr unsigned kSessionBufferBytes = 2048;
// A session's output may wait behind its send in flight up to this much (a
// server that does not read); past it the session fails as send_blocked, as
// on epoll when the socket buffer refuses bytes, instead of growing without bound.
constexpr size_t kMaxWaitingBytes = 256 << 10;

// One ring and its fixed file table. Slot state and the 16-byte receive
// buffer of each slot are the only per-connection user-space memory.
struct Ring {
  io_uring ring{};
  bool live = false;
  std::vector<uint64_t> state;            // kFree, kClosing, kSetupFailed, or Since(t, tag)
  std::vector<uint32_t> free_slots;       // stack of free slots
  std::vector<std::array<uint8_t, kPingBytes>> buf;  // recv buffer per slot (no session layer)
  // With the session layer: per slot its session and generation (a
  // completion of an earlier connection on the slot is told apart); the
  // sessions' sends, in order per connection; the ring's receive buffers;
  // slots whose multishot recv ended for want of a buffer.
  std::vector<ClientSession> sessions;
  std::vector<uint16_t> gen;
  std::unique_ptr<sys::UringSends> sends;
  sys::BufRing buffers;
  std::vector<uint32_t> starved;
  bool in_ring_setup = false;  // socket + setsockopt + bind as SQEs (see RingSocketSetup)
  unsigned unsubmitted = 0;
  // Bind addresses wait here until submit copies them; 2x the SQ size, so an
  // entry is reused only after a submit.
  // sockaddr_in6 holds either family; 56 KiB per ring, not 256 KiB.
  std::unique_ptr<sockaddr_in6[]> bind_addrs{new sockaddr_in6[2 * kSqEntries]};
  size_t bind_next = 0;

  ~Ring() {
    buffers = sys::BufRing();  // unregistered before the ring goes
    if (live) io_uring_queue_exit(&ring);
  }
};

io_uring_sqe* GetSqe(Ring& r) {
  io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
  if (sqe == nullptr) {
    io_uring_submit(&r.ring);
    r.unsubmitted = 0;
    sqe = io_uring_get_sqe(&r.ring);
  }
  ++r.unsubmitted;
  return sqe;
}

// Rings are created, fed and reaped by their worker thread only
// (SINGLE_ISSUER); completions are posted when the thread next enters the
// kernel (COOP_TASKRUN: no interrupt per completion), and the SQ flag
// TASKRUN tells liburing's peek to go and get them.
Result<std::unique_ptr<Ring>> MakeRing(unsigned slots, int eventfd, bool sessions) {
  auto r = std::make_unique<Ring>();
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG;
  p.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, &r->ring, &p);
  if (rc < 0) return ErrnoError(-rc, "io_uring_setup");
  r->live = true;
  if ((rc = io_uring_register_files_sparse(&r->ring, slots)) < 0) {
    return ErrnoError(-rc, "io_uring register " + std::to_string(slots) + " direct descriptors");
  }
  if (eventfd >= 0 && (rc = io_uring_register_eventfd(&r->ring, eventfd)) < 0) {
    return ErrnoError(-rc, "io_uring register eventfd");
  }
  r->state.assign(slots, kFree);
  r->in_ring_setup = RingSocketSetup(&r->ring);
  if (sessions) {
    auto b = sys::BufRing::Create(&r->ring, 0, kSessionBuffers, kSessionBufferBytes);
    if (!b) return tl::unexpected(b.error());
    r->buffers = std::move(*b);
    r->sessions.resize(slots);
    r->gen.assign(slots, 0);
    r->sends = std::make_unique<sys::UringSends>(slots, kSessionSend, [ring = r.get()] { return GetSqe(*ring); });
  } else {
    r->buf.resize(slots);
  }
  r->free_slots.resize(slots);
  for (unsigned i = 0; i < slots; ++i) r->free_slots[i] = slots - 1 - i;
  return r;
}


class UringWorker : public ConnectorCore<UringWorker>, public SessionTransport {
 public:
  UringWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report)
      : ConnectorCore(plan, stop, report) {
    slots_per_ring_ = static_cast<unsigned>(std::min<uint64_t>(sys::SoftNofile().value_or(1024), 1u << 20));
    timeout_.tv_sec = static_cast<int64_t>(plan.connect_timeout_ns / 1'000'000'000ull);
    timeout_.tv_nsec = static_cast<long long>(plan.connect_timeout_ns % 1'000'000'000ull);
    if (plan.session != nullptr && plan.session->active()) {
      auto d = SessionDriver::Make(*plan.session, &stats_, start_ns_, this);
      if (d) driver_ = std::move(*d);
      driver_error_ = !d;
      for (const Endpoint& t : plan.plan->targets()) hosts_.push_back(t.ToString());
    }
  }

  void Run() {
    efd_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (driver_error_) errno = EINVAL;  // the CLI validated the TLS options; this is a bug
    if (!efd_ || driver_error_) {
      FailRest(errno);
      Publish(MonotonicNanos());
      return;
    }
    PingPacer pings(plan_.ping_interval_ns, start_ns_);
    const SessionOptions* so = driver_ ? &driver_->options() : nullptr;
    PingPacer messages(so ? so->message_interval_ns : 0, start_ns_);
    PingPacer sweeps(so ? SweepInterval(*so) : 0, start_ns_);
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t now = MonotonicNanos();
      OpenSome(now);
      size_t slots = 0;
      for (const auto& r : rings_) slots += r->state.size();
      auto [from, to] = pings.Due(now, slots);
      if (from < to) PingRange(from, to);
      if (driver_) {
        auto [mfrom, mto] = messages.Due(now, slots);
        if (mfrom < mto) SessionRange(mfrom, mto, &SessionDriver::SendMessage);
        auto [sfrom, sto] = sweeps.Due(now, slots);
        if (sfrom < sto) SessionRange(sfrom, sto, &SessionDriver::Sweep);
      }
      size_t done = Turn();
      now = MonotonicNanos();
      bool was_ramping = stats_.ramp_seconds == 0;
      NoteRamp();
      // The handshakes' transient buffers are free now: give them back, so
      // the RSS shows what the held sessions keep.
      if (driver_ && was_ramping && stats_.ramp_seconds != 0) sys::TrimHeap();
      MaybePublish(now);
      if (done == 0) {
        uint64_t hint = std::min({pings.WaitHint(now), messages.WaitHint(now), sweeps.WaitHint(now)});
        Wait(now, hint);
      }
    }
    if (driver_) Drain();
    for (auto& r : rings_) ReleaseSessions(*r);
    rings_.clear();  // io_uring_queue_exit closes every direct descriptor (RST: SO_LINGER 0)
    stats_.inflight = 0;
    Publish(MonotonicNanos());
  }

  // SessionTransport: queues `bytes` on the connection's direct descriptor.
  // "All sent": the bytes wait in a send block (or behind the send in
  // flight) until the kernel took them; a failed send closes the session.
  // -EAGAIN (send_blocked) once kMaxWaitingBytes would wait.
  ssize_t Send(uint64_t conn, std::string_view bytes) override {
    if (bytes.empty()) return 0;
    uint32_t ri = static_cast<uint32_t>(conn >> 32), slot = static_cast<uint32_t>(conn);
    Ring& r = *rings_[ri];
    if (r.sends->busy(slot) && r.sends->waiting(slot) + bytes.size() > kMaxWaitingBytes) return -EAGAIN;
    if (!r.sends->Send(slot, r.gen[slot], bytes)) return -ENOMEM;
    return static_cast<ssize_t>(bytes.size());
  }

 private:
  friend class ConnectorCore<UringWorker>;  // calls OpenOne

  // One turn: submit what is queued, reap what completed (re-arming the
  // receives that ran out of buffers once buffers are back).
  size_t Turn() {
    SubmitAll();
    size_t done = DrainAll();
    if (driver_) {
      for (size_t i = 0; i < rings_.size(); ++i) {
        Ring& r = *rings_[i];
        while (!r.starved.empty()) {
          uint32_t slot = r.starved.back();
          r.starved.pop_back();
          if (Held(r.state[slot])) ArmSessionRecv(r, slot);
        }
      }
    }
    return done;
  }

  void Wait(uint64_t now, uint64_t ping_wait) {
    uint64_t wait = kPublishNs;
    if (WantsToken()) wait = std::min(wait, bucket_.NanosUntilToken(now));
    wait = std::min(wait, ping_wait);
    if (wait == 0) return;
    pollfd pfd{efd_.get(), POLLIN, 0};
    timespec ts{static_cast<time_t>(wait / 1'000'000'000ull), static_cast<long>(wait % 1'000'000'000ull)};
    if (::ppoll(&pfd, 1, &ts, nullptr) > 0) {
      uint64_t v;
      ssize_t n = ::read(efd_.get(), &v, sizeof v);
      (void)n;
    }
  }

  // After the stop, before closing: no new messages; the answers in flight
  // get up to kDrainNs to arrive (as in the epoll engine).
  static constexpr uint64_t kDrainNs = 3'000'000'000ull;
  bool AnswersInFlight() const {
    const SessionStats& ss = stats_.session;
    return ss.messages_sent > ss.messages_received || stats_.pings_sent > stats_.pongs + stats_.pongs_bad;
  }
  void Drain() {
    uint64_t end = MonotonicNanos() + kDrainNs;
    while (AnswersInFlight() && MonotonicNanos() < end) {
      if (Turn() == 0) Wait(MonotonicNanos(), 10'000'000);
      MaybePublish(MonotonicNanos());
    }
  }

  // How often the session timers (idle timeout, lifetime) are visited.
  static uint64_t SweepInterval(const SessionOptions& o) {
    uint64_t every = UINT64_MAX;
    if (o.idle_timeout_ns > 0) every = std::min(every, o.idle_timeout_ns / 4);
    if (o.lifetime_ns > 0) every = std::min(every, o.lifetime_ns / 10);
    if (every == UINT64_MAX) return 0;
    return std::clamp<uint64_t>(every, 10'000'000, 1'000'000'000);
  }

  // A ring with a free slot, making a new one when all are full.
  Ring* RingWithRoom() {
    if (current_ < rings_.size() && !rings_[current_]->free_slots.empty()) return rings_[current_].get();
    for (size_t i = 0; i < rings_.size(); ++i) {
      if (!rings_[i]->free_slots.empty()) {
        current_ = i;
        return rings_[i].get();
      }
    }
    uint64_t left = plan_.count - opened_index_ + stats_.inflight;
    unsigned slots = static_cast<unsigned>(std::min<uint64_t>(slots_per_ring_, std::max<uint64_t>(left, 64)));
    auto ring = MakeRing(slots, efd_.get(), driver_ != nullptr);
    if (!ring) {
      ring_error_ = ring.error().code != 0 ? ring.error().code : ENOMEM;
      return nullptr;
    }
    rings_.push_back(std::move(*ring));
    current_ = rings_.size() - 1;
    return rings_.back().get();
  }

  static uint64_t Conn(uint32_t ring, uint32_t slot) { return (uint64_t{ring} << 32) | slot; }

  // A new connection on `slot`: a fresh generation and session.
  void ClaimSlot(Ring& r, uint32_t slot, uint64_t index) {
    if (!driver_) return;
    ++r.gen[slot];
    r.sends->Forget(slot);
    r.sessions[slot].index = index;
  }

  void OpenOne(uint64_t index, bool reopen = false) {
    if (!reopen) ++stats_.attempted;
    Ring* r = RingWithRoom();
    if (r == nullptr) return Fail(ring_error_);
    const SourcePlan& sp = *plan_.plan;
    if (r->in_ring_setup && !syscall_setup_ && sp.PortOf(index) == 0) return OpenInRing(*r, index);
    int fd = OpenBoundSocket(sp.family(), sp.SourceOf(index), false, sp.PortOf(index));
    if (fd < 0) return Fail(-fd);
    uint32_t slot = r->free_slots.back();
    int rc = io_uring_register_files_update(&r->ring, slot, &fd, 1);
    ::close(fd);  // the fixed table holds its own reference
    if (rc < 0) return Fail(-rc);
    r->free_slots.pop_back();
    ClaimSlot(*r, slot, index);
    if (io_uring_sq_space_left(&r->ring) < 2) {
      io_uring_submit(&r->ring);
      r->unsubmitted = 0;
    }
    socklen_t len;
    const sockaddr* to = sp.TargetAddr(index, &len);
    io_uring_sqe* sqe = GetSqe(*r);
    io_uring_prep_connect(sqe, static_cast<int>(slot), to, len);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, Tag(kConnect, slot));
    sqe = GetSqe(*r);
    io_uring_prep_link_timeout(sqe, &timeout_, 0);
    io_uring_sqe_set_data64(sqe, Tag(kLinkTimeout, slot));
    r->state[slot] = Since(MonotonicNanos(), kConnectingTag);
    ++stats_.inflight;
  }

  // One linked chain, no system call: socket (into the slot) -> SO_LINGER 0
  // -> IP_BIND_ADDRESS_NO_PORT -> bind(source:0) -> connect -> timeout.
  // The set-up steps post a completion only when they fail.
  void OpenInRing(Ring& r, uint64_t index) {
    const SourcePlan& sp = *plan_.plan;
    uint32_t slot = r.free_slots.back();
    r.free_slots.pop_back();
    ClaimSlot(r, slot, index);
    if (io_uring_sq_space_left(&r.ring) < 6) {
      io_uring_submit(&r.ring);
      r.unsubmitted = 0;
    }
    constexpr uint8_t kChain = IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe* sqe = GetSqe(r);
    io_uring_prep_socket_direct(sqe, sp.family(), SOCK_STREAM, 0, slot, 0);
    sqe->flags |= kChain;
    io_uring_sqe_set_data64(sqe, Tag(kSetup, slot));
    sqe = GetSqe(r);
    PrepSetsockopt(sqe, slot, SOL_SOCKET, SO_LINGER, &kLingerRst, sizeof kLingerRst);
    sqe->flags |= kChain;
    io_uring_sqe_set_data64(sqe, Tag(kSetup, slot));
    sqe = GetSqe(r);
    PrepSetsockopt(sqe, slot, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &kOne, sizeof kOne);
    sqe->flags |= kChain;
    io_uring_sqe_set_data64(sqe, Tag(kSetup, slot));
    sockaddr_storage ss;
    socklen_t src_len = Endpoint{sp.SourceOf(index), 0}.ToSockaddr(&ss);
    sockaddr_in6& src = r.bind_addrs[r.bind_next++ % (2 * kSqEntries)];
    std::memcpy(&src, &ss, src_len);
    sqe = GetSqe(r);
    PrepBind(sqe, slot, reinterpret_cast<sockaddr*>(&src), src_len);
    sqe->flags |= kChain;
    io_uring_sqe_set_data64(sqe, Tag(kSetup, slot));
    socklen_t len;
    const sockaddr* to = sp.TargetAddr(index, &len);
    sqe = GetSqe(r);
    io_uring_prep_connect(sqe, static_cast<int>(slot), to, len);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, Tag(kConnect, slot));
    sqe = GetSqe(r);
    io_uring_prep_link_timeout(sqe, &timeout_, 0);
    io_uring_sqe_set_data64(sqe, Tag(kLinkTimeout, slot));
    r.state[slot] = Since(MonotonicNanos(), kConnectingTag);
    ++stats_.inflight;
  }

  void PostRecv(Ring& r, uint32_t slot) {
    io_uring_sqe* sqe = GetSqe(r);
    io_uring_prep_recv(sqe, static_cast<int>(slot), r.buf[slot].data(), kPingBytes, 0);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, Tag(kRecv, slot));
  }

  // The session's receive: multishot, from the ring's buffers.
  void ArmSessionRecv(Ring& r, uint32_t slot) {
    io_uring_sqe* sqe = GetSqe(r);
    io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = r.buffers.bgid();
    io_uring_sqe_set_data64(sqe, Tag(kRecv, slot, r.gen[slot]));
  }

  void CloseSlot(Ring& r, uint32_t slot) {
    r.state[slot] = kClosing;
    if (driver_) {
      // The multishot recv holds the socket: cancel it first (hard link:
      // the close runs whatever the cancel found).
      r.sends->Forget(slot);
      if (io_uring_sq_space_left(&r.ring) < 2) {
        io_uring_submit(&r.ring);
        r.unsubmitted = 0;
      }
      io_uring_sqe* sqe = GetSqe(r);
      io_uring_prep_cancel_fd(sqe, static_cast<int>(slot), IORING_ASYNC_CANCEL_FD_FIXED | IORING_ASYNC_CANCEL_ALL);
      sqe->flags |= IOSQE_IO_HARDLINK;
      io_uring_sqe_set_data64(sqe, Tag(kCancel, slot));
    }
    io_uring_sqe* sqe = GetSqe(r);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, Tag(kClose, slot));
  }

  // A held session ends: `by_peer` (counted in closed_after_ns) or ours.
  void CloseSession(Ring& r, uint32_t slot, uint64_t now, bool by_peer) {
    uint64_t since = r.state[slot] & ~uint64_t{7};
    if (by_peer) stats_.closed_after_ns.Record(now > since ? now - since : 1);
    ++stats_.closed;
    driver_->Release(r.sessions[slot]);
    CloseSlot(r, slot);
  }

  // Carries out what the session layer decided for a held slot.
  void Act(Ring& r, uint32_t slot, SessionVerdict v) {
    if (v == SessionVerdict::kKeep || !Held(r.state[slot])) return;
    uint64_t index = r.sessions[slot].index;
    // A --lifetime close is ours, not the peer's: not in closed_after_ns.
    CloseSession(r, slot, MonotonicNanos(), /*by_peer=*/v != SessionVerdict::kReopen);
    if (v == SessionVerdict::kReopen) OpenOne(index, /*reopen=*/true);
  }

  void ReleaseSessions(Ring& r) {
    if (!driver_) return;
    for (uint32_t slot = 0; slot < r.state.size(); ++slot) {
      if (Held(r.state[slot])) driver_->Release(r.sessions[slot]);
    }
  }

  void SubmitAll() {
    for (auto& r : rings_) {
      if (r->unsubmitted == 0) continue;
      io_uring_submit(&r->ring);
      r->unsubmitted = 0;
    }
  }

  size_t DrainAll() {
    size_t total = 0;
    io_uring_cqe* cqes[256];
    for (size_t i = 0; i < rings_.size(); ++i) {
      Ring& r = *rings_[i];
      for (;;) {
        unsigned n = io_uring_peek_batch_cqe(&r.ring, cqes, 256);
        if (n == 0) break;
        uint64_t now = MonotonicNanos();
        for (unsigned k = 0; k < n; ++k) Complete(r, static_cast<uint32_t>(i), *cqes[k], now);
        io_uring_cq_advance(&r.ring, n);
        total += n;
      }
    }
    return total;
  }

  void Complete(Ring& r, uint32_t ri, const io_uring_cqe& cqe, uint64_t now) {
    uint64_t tag = cqe.user_data;
    int res = cqe.res;
    if (TagOp(tag) == kSessionSend) return OnSessionSend(r, tag, res);
    uint32_t slot = TagSlot(tag);
    uint64_t& s = r.state[slot];
    switch (TagOp(tag)) {
      case kSetup:  // a set-up step failed; the rest of the chain is cancelled
        if (!Connecting(s)) return;
        --stats_.inflight;
        Fail(-res);
        s = kSetupFailed;
        return;
      case kConnect: {
        if (s == kSetupFailed) return CloseSlot(r, slot);
        if (!Connecting(s)) return;
        --stats_.inflight;
        if (res < 0) {
          Fail(res == -ECANCELED ? limits::kTimeoutErrno : -res);
          return CloseSlot(r, slot);
        }
        stats_.connect_ns.Record(now > s ? now - s : 1);
        s = Since(now, kHeldTag);
        ++stats_.opened;
        if (driver_) {
          ArmSessionRecv(r, slot);
          uint64_t index = r.sessions[slot].index;
          const std::string& host = hosts_[index % hosts_.size()];
          return Act(r, slot, driver_->Open(r.sessions[slot], Conn(ri, slot), index, host, now));
        }
        if (!plan_.watch_held && plan_.ping_interval_ns == 0) return;  // unwatched hold: no armed recv
        return PostRecv(r, slot);
      }
      case kRecv:
        if (driver_) return OnSessionRecv(r, ri, slot, TagGen(tag), cqe, now);
        if (!Held(s)) return;
        if (res > 0) {
          uint64_t rtt = res == static_cast<int>(kPingBytes) ? PongRtt(r.buf[slot].data(), now, start_ns_) : 0;
          if (rtt == 0) {
            ++stats_.pongs_bad;
          } else {
            ++stats_.pongs;
            stats_.rtt_ns.Record(rtt);
          }
          return PostRecv(r, slot);
        }
        if (res < 0) stats_.errors.Record(-res);
        ++stats_.closed;
        stats_.closed_after_ns.Record(now > (s & ~uint64_t{7}) ? now - (s & ~uint64_t{7}) : 1);
        return CloseSlot(r, slot);
      case kSend:
        if (res < 0 && Held(s)) stats_.errors.Record(-res);
        return;
      case kClose:
        s = kFree;
        r.free_slots.push_back(slot);
        return;
      case kLinkTimeout:
      case kCancel:
      case kSessionSend:
        return;
    }
  }

  void OnSessionRecv(Ring& r, uint32_t ri, uint32_t slot, uint16_t gen, const io_uring_cqe& cqe, uint64_t now) {
    bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
    auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    bool current = gen == r.gen[slot] && Held(r.state[slot]);
    if (!current) {  // an earlier connection's, or the session ended meanwhile
      if (has_buffer) r.buffers.Recycle(bid);
      return;
    }
    if (cqe.res > 0 && has_buffer) {
      auto* data = reinterpret_cast<uint8_t*>(r.buffers.Buffer(bid));
      SessionVerdict v = driver_->OnBytes(r.sessions[slot], Conn(ri, slot), data, static_cast<size_t>(cqe.res), now);
      r.buffers.Recycle(bid);
      if (v != SessionVerdict::kKeep) return Act(r, slot, v);
      if ((cqe.flags & IORING_CQE_F_MORE) == 0) ArmSessionRecv(r, slot);
      return;
    }
    if (has_buffer) r.buffers.Recycle(bid);
    // No buffer: re-armed once this turn has given buffers back. (At once
    // would not do here: a burst of completions posted together can hold
    // every buffer, and a re-arm submitted mid-turn fails again.)
    if (cqe.res == -ENOBUFS) {
      r.starved.push_back(slot);
      return;
    }
    if (cqe.res < 0 && cqe.res != -ECANCELED) stats_.errors.Record(-cqe.res);
    SessionVerdict v = driver_->OnPeerClosed(r.sessions[slot]);
    Act(r, slot, v == SessionVerdict::kKeep ? SessionVerdict::kClose : v);
  }

  void OnSessionSend(Ring& r, uint64_t tag, int res) {
    sys::UringSends::Completion c = r.sends->Complete(
        tag, res, [&r](uint32_t slot, uint32_t gen) { return gen == r.gen[slot] && Held(r.state[slot]); });
    if (c.outcome != sys::UringSends::Outcome::kFailed) return;
    stats_.errors.Record(c.error);
    Act(r, c.slot, SessionVerdict::kClose);
  }

  // Calls `fn` on the held sessions of slots [from, to), counted across the rings in order.
  void SessionRange(size_t from, size_t to, SessionVerdict (SessionDriver::*fn)(ClientSession&, uint64_t, uint64_t)) {
    size_t base = 0;
    for (size_t i = 0; i < rings_.size(); ++i) {
      Ring& r = *rings_[i];
      size_t size = r.state.size();
      size_t lo = std::max(from, base), hi = std::min(to, base + size);
      for (size_t k = lo; k < hi; ++k) {
        auto slot = static_cast<uint32_t>(k - base);
        if (!Held(r.state[slot])) continue;
        Act(r, slot, (driver_.get()->*fn)(r.sessions[slot], Conn(static_cast<uint32_t>(i), slot), MonotonicNanos()));
      }
      base += size;
    }
  }

  // Pings slots [from, to) counted across the rings in order.
  void PingRange(size_t from, size_t to) {
    if (driver_) return SessionRange(from, to, &SessionDriver::SendPing);
    constexpr size_t kBatch = 64;
    if (ping_pool_.empty()) ping_pool_.resize(8192);
    size_t in_batch = kBatch;
    uint64_t* probe = nullptr;
    size_t base = 0;
    for (auto& r : rings_) {
      size_t size = r->state.size();
      size_t lo = std::max(from, base), hi = std::min(to, base + size);
      for (size_t i = lo; i < hi; ++i) {
        uint32_t slot = static_cast<uint32_t>(i - base);
        if (!Held(r->state[slot])) continue;
        if (in_batch == kBatch) {  // a fresh timestamp every kBatch sends
          probe = ping_pool_[pool_next_++ % ping_pool_.size()].data();
          probe[0] = kPingMagic;
          probe[1] = MonotonicNanos();
          in_batch = 0;
        }
        ++in_batch;
        io_uring_sqe* sqe = GetSqe(*r);
        io_uring_prep_send(sqe, static_cast<int>(slot), probe, kPingBytes, MSG_NOSIGNAL);
        sqe->flags |= IOSQE_FIXED_FILE;
        io_uring_sqe_set_data64(sqe, Tag(kSend, slot));
        ++stats_.pings_sent;
      }
      base += size;
    }
  }

  Fd efd_;
  std::vector<std::unique_ptr<Ring>> rings_;
  size_t current_ = 0;
  unsigned slots_per_ring_ = 0;
  int ring_error_ = 0;
  // TCPMAX_URING_SYSCALL_SETUP=1 forces socket/setsockopt/bind as system
  // calls even when the ring can do them (for comparison in bench/hold).
  bool syscall_setup_ = std::getenv("TCPMAX_URING_SYSCALL_SETUP") != nullptr;
  __kernel_timespec timeout_{};
  // Ping payloads stay valid until their send completes: a pool reused
  // round-robin, one entry per batch of sends.
  std::vector<std::array<uint64_t, 2>> ping_pool_;  // sized on the first ping
  size_t pool_next_ = 0;
  // The session layer, when on (as in the epoll engine).
  std::unique_ptr<SessionDriver> driver_;
  bool driver_error_ = false;
  std::vector<std::string> hosts_;  // per target: the Host header ("127.0.0.1:8080")
};

}  // namespace

void RunUringWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report) {
  UringWorker(plan, stop, report).Run();
}

}  // namespace tcpmax::load

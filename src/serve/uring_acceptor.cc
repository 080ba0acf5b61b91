#include "serve/uring_acceptor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/paged_array.h"
#include "sys/uring_sends.h"
#include "serve/http_scan.h"

namespace tcpmax::serve {
namespace {

// user_data: op in bits 56-63, aux in bits 32-55, slot in bits 0-31.
enum Op : uint64_t { kAccept = 1, kRecv = 2, kSend = 3, kClose = 4, kCancel = 5, kIgnore = 6, kSessionSend = 7 };

uint64_t Tag(Op op, uint32_t aux, uint32_t slot) {
  return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(aux & 0xffffff) << 32) | slot;
}
Op TagOp(uint64_t ud) { return static_cast<Op>(ud >> 56); }
uint32_t TagAux(uint64_t ud) { return static_cast<uint32_t>(ud >> 32) & 0xffffff; }
uint32_t TagSlot(uint64_t ud) { return static_cast<uint32_t>(ud); }

// Accept aux: listener index (16 bits) and the ring's arm generation (8 bits),
// so a late CQE of a cancelled accept is told apart from the re-armed one.
uint32_t AcceptAux(size_t listener, uint8_t gen) { return (static_cast<uint32_t>(gen) << 16) | (listener & 0xffff); }

constexpr uint64_t kStopKey = ~0ull;
constexpr uint64_t kRingsKey = ~0ull - 1;
// Interrupt mitigation: after a wake-up that reaped at least kBusyCqes
// completions, the worker lets kCoalesceNs pass before it looks again, so
// that under load one wake-up serves a batch (the rings defer their task
// work: nothing interrupts the pause). A quiet worker never pauses.
constexpr unsigned kBusyCqes = 32;
constexpr long kCoalesceNs = 250'000;
constexpr uint64_t kRetryNs = 50'000'000;
constexpr unsigned kSqEntries = 256;
constexpr unsigned kCqEntries = 4096;
// Backpressure (echo and sessions): once this many reply bytes wait behind a
// connection's send in flight (the peer is not reading), its recv is
// cancelled until they are sent, as the epoll engine stops reading; so a
// peer that only writes costs the server its socket buffers, not memory.
constexpr size_t kPauseBytes = 256 << 10;
constexpr uint32_t kRejected = 1;  // close aux: the slot was never admitted
constexpr uint32_t kSocketUringOpSetsockopt = 3;  // SOCKET_URING_OP_SETSOCKOPT (kernel 6.7+)

// setsockopt(SO_LINGER off) on a direct descriptor, hard-linked to the next
// SQE: IORING_OP_URING_CMD with SOCKET_URING_OP_SETSOCKOPT. liburing 2.3 has
// no helper and its io_uring_sqe lacks the level/optname/optlen/optval names,
// so the fields are filled by position. On older kernels it fails and the
// linked close still runs (with RST).
void PrepLingerOff(io_uring_sqe* sqe, uint32_t slot) {
  static const linger kOff{0, 0};
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, static_cast<int>(slot), nullptr, 0, 0);
  sqe->cmd_op = kSocketUringOpSetsockopt;
  sqe->addr = static_cast<uint64_t>(SOL_SOCKET) | (static_cast<uint64_t>(SO_LINGER) << 32);  // level, optname
  sqe->splice_fd_in = sizeof kOff;                                                          // optlen
  sqe->addr3 = reinterpret_cast<uint64_t>(&kOff);                                           // optval
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
  io_uring_sqe_set_data64(sqe, Tag(kIgnore, 0, slot));
}

}  // namespace

// A streams connection's multishot recv: armed; being cancelled because
// replies back up (its last completion is still to come); or stopped until
// the replies are sent.
enum RecvState : uint8_t { kRecvArmed = 0, kRecvCancelling = 1, kRecvPaused = 2 };

struct UringWorker::Ring {
  io_uring ring{};
  bool live = false;
  sys::BufRing buffers;
  unsigned used = 0;                 // slots holding a connection (until its close completes)
  bool accepting = false;
  uint8_t gen = 0;
  std::vector<uint8_t> armed;        // by listener: a multishot accept is armed here
  unsigned accepts_live = 0;         // accept requests not yet ended (armed or being cancelled)
  std::vector<uint32_t> http;        // by slot, http mode: scanner state | responses owed << 8
  std::vector<uint32_t> starved;     // http: slots whose recv found no buffer
  // Sessions and echo (streams), by slot: the session, whether it is live
  // (opened, not ended), a generation (a late completion of the slot's
  // previous connection is told apart; 24 bits travel in the recv tag) and
  // "close once the output is sent"; the output itself, in order per
  // connection.
  PagedArray<ServerSession> sessions;  // pages allocated as slots are used
  std::vector<uint32_t> slot_gen;
  std::vector<uint8_t> session_live, close_after;
  std::vector<uint8_t> recv_state;  // RecvState, by slot
  std::unique_ptr<sys::UringSends> sends;

  ~Ring() {
    buffers = sys::BufRing();
    if (live) io_uring_queue_exit(&ring);
  }
};

UringWorker::UringWorker(const WorkerContext& ctx, unsigned table_slots, int backlog)
    : ctx_(ctx), table_slots_(std::max(table_slots, 2u)) {
  uint64_t burst = static_cast<uint64_t>(std::max(backlog, 1)) * std::max<size_t>(ctx_.listeners.size(), 1) + 256;
  margin_ = static_cast<unsigned>(std::clamp<uint64_t>(burst, 1, table_slots_ / 4 + 1));
  if (ctx_.session.active()) driver_ = std::make_unique<ServerSessionDriver>(ctx_.session, ctx_.mode);
  streams_ = driver_ != nullptr || ctx_.mode == ServeMode::kEcho;
}

UringWorker::~UringWorker() = default;

Result<void> UringWorker::Setup() {
  epoll_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return ErrnoError("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kStopKey;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, ctx_.stop_fd, &ev) != 0) return ErrnoError("epoll_ctl add stop eventfd");
  rings_fd_ = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!rings_fd_) return ErrnoError("eventfd");
  ev.data.u64 = kRingsKey;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, rings_fd_.get(), &ev) != 0) return ErrnoError("epoll_ctl add rings eventfd");
  auto r = AddRing();
  if (!r) return tl::unexpected(r.error());
  ArmAccepts(*r);
  return {};
}

Result<size_t> UringWorker::AddRing() {
  auto ring = std::make_unique<Ring>();
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
            IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  p.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, &ring->ring, &p);
  if (rc < 0) return ErrnoError(-rc, "io_uring_setup");
  ring->live = true;
  rc = io_uring_register_files_sparse(&ring->ring, table_slots_);
  if (rc < 0) return ErrnoError(-rc, fmt::format("io_uring_register_files_sparse ({} slots)", table_slots_));
  bool hold = ctx_.mode == ServeMode::kHold && !driver_;
  auto buffers = sys::BufRing::Create(&ring->ring, 0, hold ? 16 : 256, hold ? 2048 : 4096);
  if (!buffers) return tl::unexpected(buffers.error());
  ring->buffers = std::move(*buffers);
  ring->armed.assign(ctx_.listeners.size(), 0);
  if (ctx_.mode == ServeMode::kHttp && !driver_) ring->http.assign(table_slots_, 0);
  if (streams_) {
    if (driver_) ring->sessions = PagedArray<ServerSession>(table_slots_);
    ring->slot_gen.assign(table_slots_, 0);
    ring->session_live.assign(table_slots_, 0);
    ring->sends = std::make_unique<sys::UringSends>(table_slots_, kSessionSend, [this, r = rings_.size()] { return Sqe(r); });
    ring->close_after.assign(table_slots_, 0);
    ring->recv_state.assign(table_slots_, kRecvArmed);
  }
  // Deferred task work is run by io_uring_enter(GETEVENTS) only; the
  // eventfd says when some is waiting (or a completion was posted).
  rc = io_uring_register_eventfd(&ring->ring, rings_fd_.get());
  if (rc < 0) return ErrnoError(-rc, "io_uring_register_eventfd");
  rings_.push_back(std::move(ring));
  ctx_.counters->rings.Add();
  return rings_.size() - 1;
}

io_uring_sqe* UringWorker::Sqe(size_t r) {
  io_uring* ring = &rings_[r]->ring;
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  while (sqe == nullptr) {
    io_uring_submit(ring);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

void UringWorker::ArmAccepts(size_t r) {
  if (stopping_) return;
  Ring& ring = *rings_[r];
  for (size_t i = 0; i < ctx_.listeners.size(); ++i) {
    if (ring.armed[i]) continue;
    io_uring_sqe* sqe = Sqe(r);
    io_uring_prep_multishot_accept_direct(sqe, ctx_.listeners[i], nullptr, nullptr, 0);
    io_uring_sqe_set_data64(sqe, Tag(kAccept, AcceptAux(i, ring.gen), 0));
    ring.armed[i] = 1;
    ++ring.accepts_live;
  }
  ring.accepting = true;
  accepting_ = r;
  io_uring_submit(&ring.ring);  // may be another ring than the one being drained
}

void UringWorker::MoveAccepting() {
  if (stopping_) return;
  // Find room first, so a failed ring creation leaves accepting where it was.
  size_t target = rings_.size();
  for (size_t r = 0; r < rings_.size(); ++r) {
    if (r != accepting_ && table_slots_ - rings_[r]->used > 2 * margin_) target = r;
  }
  if (target == rings_.size()) {
    auto added = AddRing();
    if (!added) {
      ctx_.counters->RecordError(added.error().code != 0 ? added.error().code : ENOMEM);
      retry_at_ns_ = MonotonicNanos() + kRetryNs;
      return;
    }
    target = *added;
  }
  StopAccepting(accepting_);
  ArmAccepts(target);
  // Submit now: the caller drains (and submits) the old ring, and no event
  // can arrive on the new ring until its accepts are in the kernel.
  io_uring_submit(&rings_[target]->ring);
}

void UringWorker::StopAccepting(size_t r) {
  Ring& ring = *rings_[r];
  for (size_t i = 0; i < ctx_.listeners.size(); ++i) {
    if (!ring.armed[i]) continue;
    io_uring_sqe* sqe = Sqe(r);
    io_uring_prep_cancel64(sqe, Tag(kAccept, AcceptAux(i, ring.gen), 0), 0);
    io_uring_sqe_set_data64(sqe, Tag(kCancel, 0, 0));
    ring.armed[i] = 0;
  }
  ++ring.gen;  // late CQEs of the cancelled accepts no longer count as armed
  ring.accepting = false;
  io_uring_submit(&ring.ring);
}

void UringWorker::Run() {
  epoll_event events[64];
  for (;;) {
    if (reaped_ >= kBusyCqes) {
      timespec pause{0, kCoalesceNs};
      nanosleep(&pause, nullptr);
    }
    reaped_ = 0;
    int timeout = -1;
    if (retry_at_ns_ != 0) {
      uint64_t now = MonotonicNanos();
      timeout = now >= retry_at_ns_ ? 0 : static_cast<int>((retry_at_ns_ - now) / 1'000'000 + 1);
    }
    int n = epoll_wait(epoll_.get(), events, 64, timeout);
    if (n < 0 && errno != EINTR) {
      ctx_.counters->RecordError(errno);
      break;
    }
    if (retry_at_ns_ != 0 && MonotonicNanos() >= retry_at_ns_) {
      retry_at_ns_ = 0;
      if (table_slots_ - rings_[accepting_]->used <= margin_) {
        MoveAccepting();
      } else {
        ArmAccepts(accepting_);
      }
    }
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kStopKey) {
        stop = true;
      } else if (events[i].data.u64 == kRingsKey) {
        uint64_t v;
        ssize_t got = read(rings_fd_.get(), &v, sizeof v);
        (void)got;
        for (size_t r = 0; r < rings_.size(); ++r) Drain(r);
      }
    }
    if (stop) break;
  }
  EndAccepts();
  if (driver_) {
    for (auto& ring : rings_) {
      for (size_t slot = 0; slot < ring->sessions.size(); ++slot) {
        if (ring->session_live[slot]) driver_->Release(ring->sessions[slot]);
      }
    }
  }
  rings_.clear();  // io_uring_queue_exit closes every direct descriptor: RST
}

void UringWorker::EndAccepts() {
  // An armed accept holds a reference to its listener: unless every accept
  // has ended before the rings go, the listening socket outlives Stop() (the
  // kernel tears rings down asynchronously) and the port stays taken.
  stopping_ = true;
  for (size_t r = 0; r < rings_.size(); ++r) {
    if (rings_[r]->accepting) StopAccepting(r);
  }
  uint64_t deadline = MonotonicNanos() + 2'000'000'000ull;
  for (size_t r = 0; r < rings_.size(); ++r) {
    while (rings_[r]->accepts_live > 0 && MonotonicNanos() < deadline) {
      __kernel_timespec ts{0, 50'000'000};
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&rings_[r]->ring, &cqe, 1, &ts, nullptr);
      Drain(r);
    }
  }
}

void UringWorker::Drain(size_t r) {
  io_uring* ring = &rings_[r]->ring;
  io_uring_cqe* cqes[256];
  for (;;) {
    // The deferred task work (receives, sends that waited) posts its
    // completions here, in this thread.
    if (IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN) io_uring_get_events(ring);
    unsigned n = io_uring_peek_batch_cqe(ring, cqes, 256);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) Handle(r, *cqes[i]);
    io_uring_cq_advance(ring, n);
    reaped_ += n;
  }
  io_uring_submit(ring);
}

void UringWorker::Handle(size_t r, const io_uring_cqe& cqe) {
  uint64_t ud = cqe.user_data;
  switch (TagOp(ud)) {
    case kAccept:
      return OnAccept(r, cqe);
    case kRecv:
      if (streams_) return OnSessionRecv(r, TagSlot(ud), TagAux(ud), cqe);
      return OnRecv(r, TagSlot(ud), cqe);
    case kSend:
      return OnSend(r, TagSlot(ud), cqe);
    case kSessionSend:
      return OnSessionSend(r, ud, cqe.res);
    case kClose: {
      Ring& ring = *rings_[r];
      --ring.used;
      if (!ring.http.empty()) ring.http[TagSlot(ud)] = 0;
      ctx_.counters->closed.Add();
      if (TagAux(ud) != kRejected && ctx_.gate != nullptr) ctx_.gate->Release();
      return;
    }
    case kCancel:
    case kIgnore:
      return;
  }
}

void UringWorker::OnAccept(size_t r, const io_uring_cqe& cqe) {
  Ring& ring = *rings_[r];
  uint32_t aux = TagAux(cqe.user_data);
  size_t listener = aux & 0xffff;
  bool current = (aux >> 16) == ring.gen && ring.accepting;
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    --ring.accepts_live;
    if (current) ring.armed[listener] = 0;
  }
  if (cqe.res >= 0) {
    uint32_t slot = static_cast<uint32_t>(cqe.res);
    ++ring.used;
    ctx_.counters->accepted.Add();
    if (ctx_.gate != nullptr && !ctx_.gate->TryAdmit()) {
      ctx_.counters->rejected.Add();
      io_uring_sqe* sqe = Sqe(r);
      io_uring_prep_close_direct(sqe, slot);
      io_uring_sqe_set_data64(sqe, Tag(kClose, kRejected, slot));
      // Back off like the epoll engine: stop accepting for a while.
      if (ring.accepting) StopAccepting(r);
      if (retry_at_ns_ == 0) retry_at_ns_ = MonotonicNanos() + kRetryNs;
    } else if (streams_) {
      ring.slot_gen[slot] = (ring.slot_gen[slot] + 1) & 0xffffff;
      ring.sends->Forget(slot);
      ring.close_after[slot] = 0;
      ring.recv_state[slot] = kRecvArmed;
      if (driver_ && !driver_->Open(ring.sessions[slot])) {
        CloseSlot(r, slot, ENOMEM);
      } else {
        ring.session_live[slot] = 1;
        ArmRecv(r, slot);
      }
    } else if (ctx_.watch_held || ctx_.mode != ServeMode::kHold) {
      ArmRecv(r, slot);  // unwatched hold arms nothing: the socket alone (server.h)
    }
    if (ring.accepting && table_slots_ - ring.used < margin_) MoveAccepting();
  } else if (cqe.res != -ECANCELED) {
    int err = -cqe.res;
    bool table_full = err == ENFILE && ring.used + 1 >= table_slots_;
    if (table_full) {
      ctx_.counters->table_full.Add();
    } else {
      ctx_.counters->RecordError(err);
    }
    if (current && table_full) {
      MoveAccepting();
    } else if (current && retry_at_ns_ == 0) {
      retry_at_ns_ = MonotonicNanos() + kRetryNs;
    }
  }
  if ((cqe.flags & IORING_CQE_F_MORE) == 0 && current && cqe.res >= 0 && retry_at_ns_ == 0) {
    retry_at_ns_ = MonotonicNanos();  // the kernel ended the multishot: re-arm at once
  }
}

void UringWorker::ArmRecv(size_t r, uint32_t slot) {
  io_uring_sqe* sqe = Sqe(r);
  if (streams_) {  // sessions and echo: multishot, the generation in the tag
    io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = rings_[r]->buffers.bgid();
    io_uring_sqe_set_data64(sqe, Tag(kRecv, rings_[r]->slot_gen[slot], slot));
    return;
  }
  if (ctx_.mode == ServeMode::kHold) {
    io_uring_prep_recv_multishot(sqe, static_cast<int>(slot), nullptr, 0, 0);
  } else {
    io_uring_prep_recv(sqe, static_cast<int>(slot), nullptr, 0, 0);
  }
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = rings_[r]->buffers.bgid();
  io_uring_sqe_set_data64(sqe, Tag(kRecv, 0, slot));
}

void UringWorker::OnRecv(size_t r, uint32_t slot, const io_uring_cqe& cqe) {
  Ring& ring = *rings_[r];
  bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  uint16_t bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  if (cqe.res > 0) {
    if (ctx_.mode == ServeMode::kHold) {
      if (has_buffer) ring.buffers.Recycle(bid);
      if ((cqe.flags & IORING_CQE_F_MORE) == 0) ArmRecv(r, slot);
    } else {  // http (echo runs on the streams path: OnSessionRecv)
      OnHttpData(r, slot, ring.buffers.Buffer(bid), static_cast<size_t>(cqe.res));
      ring.buffers.Recycle(bid);
      FeedStarved(r);
    }
    return;
  }
  if (has_buffer) ring.buffers.Recycle(bid);
  if (cqe.res == -ENOBUFS) {
    if (ctx_.mode == ServeMode::kHold) return ArmRecv(r, slot);  // buffers are back by the next submit
    ring.starved.push_back(slot);
    return;
  }
  if (cqe.res == -ECANCELED) return;
  CloseSlot(r, slot, -cqe.res);
}

void UringWorker::OnHttpData(size_t r, uint32_t slot, const char* data, size_t len) {
  uint32_t& st = rings_[r]->http[slot];
  auto scan = static_cast<HttpScanState>(st & 0xff);
  uint64_t owed = (st >> 8) + CountHttpRequests(std::string_view(data, len), &scan);
  st = static_cast<uint32_t>(std::min<uint64_t>(owed, 0xffffff) << 8) | static_cast<uint32_t>(scan);
  if ((st >> 8) == 0) return ArmRecv(r, slot);
  SendHttp(r, slot);
}

void UringWorker::SendHttp(size_t r, uint32_t slot) {
  size_t batch = std::min<size_t>(rings_[r]->http[slot] >> 8, kHttpBatch);
  std::string_view out = HttpResponses(batch);
  io_uring_sqe* sqe = Sqe(r);
  io_uring_prep_send(sqe, static_cast<int>(slot), out.data(), out.size(), MSG_WAITALL | MSG_NOSIGNAL);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, Tag(kSend, 0, slot));
}

void UringWorker::OnSend(size_t r, uint32_t slot, const io_uring_cqe& cqe) {
  Ring& ring = *rings_[r];
  if (cqe.res < 0) return CloseSlot(r, slot, -cqe.res);
  if (ctx_.mode == ServeMode::kHttp) {
    uint32_t& st = ring.http[slot];
    uint32_t owed = st >> 8;
    owed -= std::min<uint32_t>(owed, kHttpBatch);
    st = (owed << 8) | (st & 0xff);
    if (owed > 0) return SendHttp(r, slot);
  }
  ArmRecv(r, slot);
}

void UringWorker::FeedStarved(size_t r) {
  Ring& ring = *rings_[r];
  if (ring.starved.empty()) return;
  uint32_t slot = ring.starved.back();
  ring.starved.pop_back();
  ArmRecv(r, slot);
}

void UringWorker::CloseSlot(size_t r, uint32_t slot, int err) {
  if (err == ECONNRESET || err == EPIPE) {
    ctx_.counters->resets.Add();
  } else if (err != 0) {
    ctx_.counters->RecordError(err);
  }
  // The peer ended with FIN: in echo/http, close gracefully so replies still
  // queued reach it (the inherited SO_LINGER 0 would reset and drop them).
  // In hold mode the RST is wanted: it spares the peer its TIME_WAIT.
  if (streams_) {
    // The multishot recv holds the socket: cancel it first (hard links: the
    // close runs whatever the cancel found).
    if (io_uring_sq_space_left(&rings_[r]->ring) < 3) io_uring_submit(&rings_[r]->ring);
    io_uring_sqe* cancel = Sqe(r);
    io_uring_prep_cancel_fd(cancel, static_cast<int>(slot), IORING_ASYNC_CANCEL_FD_FIXED | IORING_ASYNC_CANCEL_ALL);
    cancel->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data64(cancel, Tag(kCancel, 0, slot));
  }
  if (err == 0 && ctx_.mode != ServeMode::kHold) {
    if (io_uring_sq_space_left(&rings_[r]->ring) < 2) io_uring_submit(&rings_[r]->ring);
    PrepLingerOff(Sqe(r), slot);
  }
  io_uring_sqe* sqe = Sqe(r);
  io_uring_prep_close_direct(sqe, slot);
  io_uring_sqe_set_data64(sqe, Tag(kClose, 0, slot));
}

// Sessions (--tls / --proto ws) on io_uring: the driver is fed straight from
// the completion's buffer; its output goes out in order per connection.
void UringWorker::OnSessionRecv(size_t r, uint32_t slot, uint32_t gen, const io_uring_cqe& cqe) {
  Ring& ring = *rings_[r];
  bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
  uint16_t bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  if (gen != ring.slot_gen[slot] || !ring.session_live[slot]) {
    if (has_buffer) ring.buffers.Recycle(bid);  // the slot's previous connection, or one already ended
    return;
  }
  bool ended = (cqe.flags & IORING_CQE_F_MORE) == 0;  // the recv's last completion
  if (cqe.res > 0 && has_buffer && !driver_) {  // echo: the bytes back, in order
    SessionSend(r, slot, std::string_view(ring.buffers.Buffer(bid), static_cast<size_t>(cqe.res)));
    ring.buffers.Recycle(bid);
    return AfterSessionData(r, slot, ended);
  }
  if (cqe.res > 0 && has_buffer) {
    out_.clear();
    bool keep = driver_->OnBytes(ring.sessions[slot], reinterpret_cast<uint8_t*>(ring.buffers.Buffer(bid)),
                                 static_cast<size_t>(cqe.res), &out_);
    ring.buffers.Recycle(bid);
    ctx_.counters->SetSessionCounts(driver_->counts());
    if (!out_.empty()) SessionSend(r, slot, out_);
    if (!keep) {
      // Close once the output is out (the peer then sees it and ends).
      if (ring.sends->busy(slot)) {
        ring.close_after[slot] = 1;
      } else {
        EndSession(r, slot, 0);
      }
      return;
    }
    return AfterSessionData(r, slot, ended);
  }
  if (has_buffer) ring.buffers.Recycle(bid);
  if (cqe.res == -ENOBUFS || (cqe.res == -ECANCELED && ring.recv_state[slot] == kRecvCancelling)) {
    return RecvEnded(r, slot);  // no buffer (they are back by the next submit), or paused
  }
  if (cqe.res == 0 && ring.sends->busy(slot)) {
    // EOF (a half close) with replies still going out: close once they are
    // sent, so the peer reads them all (graceful close, not a reset).
    ring.close_after[slot] = 1;
    return;
  }
  EndSession(r, slot, cqe.res < 0 && cqe.res != -ECANCELED ? -cqe.res : 0);
}

// After a recv's data went through: stop reading if replies back up, and
// re-arm a recv that ended.
void UringWorker::AfterSessionData(size_t r, uint32_t slot, bool recv_ended) {
  Ring& ring = *rings_[r];
  if (!ring.session_live[slot]) return;  // the data ended the session
  if (ring.recv_state[slot] == kRecvArmed && ring.sends->busy(slot) && ring.sends->waiting(slot) >= kPauseBytes) {
    if (recv_ended) {
      ring.recv_state[slot] = kRecvPaused;
      return;
    }
    ring.recv_state[slot] = kRecvCancelling;
    io_uring_sqe* sqe = Sqe(r);
    io_uring_prep_cancel64(sqe, Tag(kRecv, ring.slot_gen[slot], slot), 0);
    io_uring_sqe_set_data64(sqe, Tag(kCancel, 0, slot));
    return;
  }
  if (recv_ended) RecvEnded(r, slot);
}

// The slot's recv posted its last completion: arm another, unless replies
// still back up (the last send's completion re-arms it).
void UringWorker::RecvEnded(size_t r, uint32_t slot) {
  Ring& ring = *rings_[r];
  if (ring.recv_state[slot] != kRecvArmed && ring.sends->busy(slot)) {
    ring.recv_state[slot] = kRecvPaused;
    return;
  }
  ring.recv_state[slot] = kRecvArmed;
  ArmRecv(r, slot);
}

void UringWorker::SessionSend(size_t r, uint32_t slot, std::string_view bytes) {
  Ring& ring = *rings_[r];
  if (!ring.sends->Send(slot, ring.slot_gen[slot], bytes)) EndSession(r, slot, ENOMEM);
}

void UringWorker::OnSessionSend(size_t r, uint64_t ud, int res) {
  Ring& ring = *rings_[r];
  sys::UringSends::Completion c = ring.sends->Complete(ud, res, [&ring](uint32_t slot, uint32_t gen) {
    return gen == ring.slot_gen[slot] && ring.session_live[slot];
  });
  if (c.outcome == sys::UringSends::Outcome::kFailed) return EndSession(r, c.slot, c.error);
  if (c.outcome != sys::UringSends::Outcome::kDrained) return;
  if (ring.close_after[c.slot]) return EndSession(r, c.slot, 0);
  if (ring.recv_state[c.slot] == kRecvPaused) RecvEnded(r, c.slot);  // replies are out: read again
}

void UringWorker::EndSession(size_t r, uint32_t slot, int err) {
  Ring& ring = *rings_[r];
  if (!ring.session_live[slot]) return;  // ended already
  ring.session_live[slot] = 0;
  if (driver_) driver_->Release(ring.sessions[slot]);
  ring.slot_gen[slot] = (ring.slot_gen[slot] + 1) & 0xffffff;
  ring.sends->Forget(slot);
  ring.close_after[slot] = 0;
  CloseSlot(r, slot, err);
}

}  // namespace tcpmax::serve

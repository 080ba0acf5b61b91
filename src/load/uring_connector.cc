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
#include <vector>

#include "core/clock.h"
#include "core/fd.h"
#include "load/connector.h"
#include "load/connector_core.h"
#include "sys/process.h"
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

enum Op : uint64_t { kConnect = 1, kLinkTimeout, kRecv, kSend, kClose, kSetup };
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

uint64_t Tag(Op op, uint32_t slot) { return (uint64_t{op} << 56) | slot; }
Op TagOp(uint64_t tag) { return static_cast<Op>(tag >> 56); }
uint32_t TagSlot(uint64_t tag) { return static_cast<uint32_t>(tag); }

// One ring and its fixed file table. Slot state and the 16-byte receive
// buffer of each slot are the only per-connection user-space memory.
struct Ring {
  io_uring ring{};
  bool live = false;
  std::vector<uint64_t> state;            // kFree, kClosing, kSetupFailed, or Since(t, tag)
  std::vector<uint32_t> free_slots;       // stack of free slots
  std::vector<std::array<uint8_t, kPingBytes>> buf;  // recv buffer per slot
  bool in_ring_setup = false;  // socket + setsockopt + bind as SQEs (see RingSocketSetup)
  unsigned unsubmitted = 0;
  // Bind addresses wait here until submit copies them; 2x the SQ size, so an
  // entry is reused only after a submit.
  // sockaddr_in6 holds either family; 56 KiB per ring, not 256 KiB.
  std::unique_ptr<sockaddr_in6[]> bind_addrs{new sockaddr_in6[2 * kSqEntries]};
  size_t bind_next = 0;

  ~Ring() {
    if (live) io_uring_queue_exit(&ring);
  }
};

Result<std::unique_ptr<Ring>> MakeRing(unsigned slots, int eventfd) {
  auto r = std::make_unique<Ring>();
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
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
  r->buf.resize(slots);
  r->free_slots.resize(slots);
  for (unsigned i = 0; i < slots; ++i) r->free_slots[i] = slots - 1 - i;
  return r;
}

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

class UringWorker : public ConnectorCore<UringWorker> {
 public:
  UringWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report)
      : ConnectorCore(plan, stop, report) {
    slots_per_ring_ = static_cast<unsigned>(std::min<uint64_t>(sys::SoftNofile().value_or(1024), 1u << 20));
    timeout_.tv_sec = static_cast<int64_t>(plan.connect_timeout_ns / 1'000'000'000ull);
    timeout_.tv_nsec = static_cast<long long>(plan.connect_timeout_ns % 1'000'000'000ull);
  }

  void Run() {
    efd_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!efd_) {
      FailRest(errno);
      Publish(MonotonicNanos());
      return;
    }
    PingPacer pings(plan_.ping_interval_ns, start_ns_);
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t now = MonotonicNanos();
      OpenSome(now);
      size_t slots = 0;
      for (const auto& r : rings_) slots += r->state.size();
      auto [from, to] = pings.Due(now, slots);
      if (from < to) PingRange(from, to);
      SubmitAll();
      size_t done = DrainAll();
      now = MonotonicNanos();
      NoteRamp();
      MaybePublish(now);
      if (done == 0) Wait(now, pings.WaitHint(now));
    }
    rings_.clear();  // io_uring_queue_exit closes every direct descriptor (RST: SO_LINGER 0)
    stats_.inflight = 0;
    Publish(MonotonicNanos());
  }

 private:
  friend class ConnectorCore<UringWorker>;  // calls OpenOne
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
    auto ring = MakeRing(slots, efd_.get());
    if (!ring) {
      ring_error_ = ring.error().code != 0 ? ring.error().code : ENOMEM;
      return nullptr;
    }
    rings_.push_back(std::move(*ring));
    current_ = rings_.size() - 1;
    return rings_.back().get();
  }

  void OpenOne(uint64_t index) {
    ++stats_.attempted;
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

  void CloseSlot(Ring& r, uint32_t slot) {
    r.state[slot] = kClosing;
    io_uring_sqe* sqe = GetSqe(r);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, Tag(kClose, slot));
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
    for (auto& r : rings_) {
      for (;;) {
        unsigned n = io_uring_peek_batch_cqe(&r->ring, cqes, 256);
        if (n == 0) break;
        uint64_t now = MonotonicNanos();
        for (unsigned i = 0; i < n; ++i) Complete(*r, cqes[i]->user_data, cqes[i]->res, now);
        io_uring_cq_advance(&r->ring, n);
        total += n;
      }
    }
    return total;
  }

  void Complete(Ring& r, uint64_t tag, int res, uint64_t now) {
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
        if (!plan_.watch_held && plan_.ping_interval_ns == 0) return;  // unwatched hold: no armed recv
        return PostRecv(r, slot);
      }
      case kRecv: {
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
      }
      case kSend:
        if (res < 0 && Held(s)) stats_.errors.Record(-res);
        return;
      case kClose:
        s = kFree;
        r.free_slots.push_back(slot);
        return;
      case kLinkTimeout:
        return;
    }
  }

  // Pings slots [from, to) counted across the rings in order.
  void PingRange(size_t from, size_t to) {
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
};

}  // namespace

void RunUringWorker(const WorkerPlan& plan, const std::atomic<bool>& stop, WorkerReport& report) {
  UringWorker(plan, stop, report).Run();
}

}  // namespace tcpmax::load

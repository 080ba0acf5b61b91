#include "sys/uring_support.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"
#include "core/fd.h"
#include "sys/reader.h"
#include "sys/sysctl.h"
#include "sys/buf_ring.h"

namespace tcpmax::sys {
namespace {

// Why io_uring_setup failed, in terms a user can act on.
std::string SetupFailure(int err) {
  std::string why = Error{err, "io_uring_setup"}.ToString();
  std::string disabled = ReadSysctl(LiveReader(), "kernel.io_uring_disabled").value_or("");
  if (err == ENOSYS) return why + ": the kernel was built without io_uring (CONFIG_IO_URING)";
  if (err == EPERM && !disabled.empty() && disabled != "0")
    return why + fmt::format(": kernel.io_uring_disabled={} (set it to 0, or 1 and join kernel.io_uring_group)",
                             disabled);
  if (err == EPERM) return why + ": blocked, probably by a seccomp filter (container runtimes often block io_uring)";
  return why;
}

// Waits for one CQE; returns its res and flags, or nullopt after ~1 s.
bool WaitCqe(io_uring* ring, int* res, unsigned* flags) {
  __kernel_timespec ts{1, 0};
  io_uring_cqe* cqe = nullptr;
  if (io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr) < 0 || cqe == nullptr) return false;
  *res = cqe->res;
  *flags = cqe->flags;
  io_uring_cqe_seen(ring, cqe);
  return true;
}

// A listener on 127.0.0.1:0 and a client connected to it.
struct LoopbackPair {
  Fd listener;
  Fd client;
};

Result<LoopbackPair> MakeLoopbackPair() {
  LoopbackPair p;
  p.listener = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!p.listener) return ErrnoError("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(p.listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(p.listener.get(), 4) != 0 ||
      getsockname(p.listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return ErrnoError("listen 127.0.0.1:0");
  p.client = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // Closed with RST: the check must not leave a port in TIME_WAIT (a box, or a
  // test namespace, may have only a few ephemeral ports).
  linger lg{1, 0};
  if (p.client) setsockopt(p.client.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (!p.client || connect(p.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return ErrnoError("connect to the probe listener");
  return p;
}

// Connects a fresh socket, installed in slot 15 of the table, to `listener`
// with IORING_OP_CONNECT on the direct descriptor: the load engine's path.
bool ProbeConnectDirect(io_uring* ring, int listener, std::string* reason) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    *reason = Error{errno, "getsockname for the io_uring connect check"}.ToString();
    return false;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *reason = Error{errno, "socket for the io_uring connect check"}.ToString();
    return false;
  }
  linger lg{1, 0};  // closed with RST, no TIME_WAIT
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  int rc = io_uring_register_files_update(ring, 15, &fd, 1);
  ::close(fd);  // the table holds its own reference
  if (rc < 0) {
    *reason = Error{-rc, "io_uring direct descriptor update"}.ToString();
    return false;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_connect(sqe, 15, reinterpret_cast<sockaddr*>(&a), len);
  sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_submit(ring);
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec ts{2, 0};
  rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
  if (rc < 0) {
    *reason = Error{-rc, "io_uring connect check: no completion"}.ToString();
    return false;
  }
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  if (res < 0) {
    *reason = Error{-res, "IORING_OP_CONNECT on a direct descriptor"}.ToString();
    return false;
  }
  return true;
}

// Accepts the client into the table with multishot accept; returns the slot.
bool ProbeAcceptDirect(io_uring* ring, int listener, int* slot, std::string* reason) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_multishot_accept_direct(sqe, listener, nullptr, nullptr, 0);
  int res = 0;
  unsigned flags = 0;
  if (!WaitCqe(ring, &res, &flags)) {
    *reason = "multishot accept direct: no completion within 1 s";
    return false;
  }
  if (res < 0) {
    *reason = Error{-res, "multishot accept direct (IORING_FILE_INDEX_ALLOC)"}.ToString() +
              ": the kernel is older than 5.19";
    return false;
  }
  if ((flags & IORING_CQE_F_MORE) == 0) {
    *reason = "multishot accept direct: the kernel ended it after one connection";
    return false;
  }
  *slot = res;
  return true;
}

// Sends a byte on the client and receives it through a multishot recv on the
// direct descriptor, with a provided buffer.
bool ProbeRecvMultishot(io_uring* ring, int slot, int client, std::string* reason) {
  if (send(client, "x", 1, MSG_NOSIGNAL) != 1) {
    *reason = Error{errno, "send on the probe connection"}.ToString();
    return false;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  io_uring_prep_recv_multishot(sqe, slot, nullptr, 0, 0);
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  sqe->user_data = 1;
  int res = 0;
  unsigned flags = 0;
  // The accept may post nothing more; skip CQEs not from the recv.
  for (int i = 0; i < 3; ++i) {
    if (!WaitCqe(ring, &res, &flags)) break;
    if (res == 1 && (flags & IORING_CQE_F_BUFFER) != 0) return true;
    if (res < 0 && res != -ECANCELED) {
      *reason = Error{-res, "multishot recv with provided buffers"}.ToString() + ": the kernel is older than 6.0";
      return false;
    }
  }
  *reason = "multishot recv with provided buffers: no data within 1 s";
  return false;
}

}  // namespace

namespace {

// The kernel release, then a throwaway ring with a 16-slot sparse file
// table: sets kernel, rings, direct_descriptors and reason. False when no
// ring could be made (nothing to tear down); otherwise the caller exits it.
bool OpenProbeRing(UringSupport& s, io_uring* ring) {
  utsname u{};
  if (uname(&u) == 0) s.kernel = u.release;
  int rc = io_uring_queue_init(8, ring, 0);
  if (rc < 0) {
    s.reason = SetupFailure(-rc);
    return false;
  }
  s.rings = true;
  rc = io_uring_register_files_sparse(ring, 16);
  if (rc < 0) {
    s.reason = Error{-rc, "io_uring_register_files_sparse"}.ToString() + ": the kernel is older than 5.19";
  } else {
    s.direct_descriptors = true;
  }
  return true;
}

}  // namespace

UringSupport DetectUring() {
  UringSupport s;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  s.table_slots = rl.rlim_cur > (1u << 20) ? (1u << 20) : static_cast<unsigned>(rl.rlim_cur);
  io_uring ring;
  if (!OpenProbeRing(s, &ring)) return s;
  if (s.direct_descriptors) {
    auto buffers = sys::BufRing::Create(&ring, 0, 4, 64);
    if (!buffers) {
      s.reason = buffers.error().ToString() + ": provided-buffer rings need kernel 5.19";
    } else {
      s.buf_ring = true;
      auto pair = MakeLoopbackPair();
      int slot = -1;
      if (!pair) {
        s.reason = pair.error().ToString();
      } else if ((s.accept_direct = ProbeAcceptDirect(&ring, pair->listener.get(), &slot, &s.reason))) {
        s.recv_multishot = ProbeRecvMultishot(&ring, slot, pair->client.get(), &s.reason);
      }
    }
  }
  io_uring_queue_exit(&ring);
  return s;
}

UringSupport DetectUringConnect() {
  UringSupport s;
  io_uring ring;
  if (!OpenProbeRing(s, &ring)) return s;
  if (s.direct_descriptors) {
    // A listener and nothing else: no accepted socket stays in the table, so
    // no port is still taken when the caller starts connecting.
    Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!listener || bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listener.get(), 4) != 0) {
      s.reason = Error{errno, "listen on 127.0.0.1 for the io_uring connect check"}.ToString();
    } else {
      s.connect_direct = ProbeConnectDirect(&ring, listener.get(), &s.reason);
    }
  }
  io_uring_queue_exit(&ring);
  return s;
}

}  // namespace tcpmax::sys

// UringSupport: can this process use io_uring the way tcpmax's engines need
// it, and if not, why not (one sentence a user can act on)?
//
// DetectUring() creates a throwaway ring and exercises, on a loopback
// listener it opens on 127.0.0.1:0, exactly the features the uring engines
// use: a sparse registered file table (direct descriptors), multishot accept
// into that table with IORING_FILE_INDEX_ALLOC, a provided-buffer ring,
// multishot recv, and IORING_OP_CONNECT on a direct descriptor. It takes about
// a millisecond and leaves nothing behind. This is tcpmax's one io_uring check.
//
// `serve` (DetectUring().ok()) and `load` (DetectUringConnect().connect_ok())
// call it at start: with --engine
// auto they fall back to epoll and print `reason`; with --engine uring they
// fail with it.
//
// Thread-safety: DetectUring() is reentrant; call it from any thread.
#pragma once

#include <string>

namespace tcpmax::sys {

struct UringSupport {
  bool rings = false;              // io_uring_setup works at all
  bool direct_descriptors = false; // sparse file tables register
  bool accept_direct = false;      // multishot accept into the table (FILE_INDEX_ALLOC)
  bool buf_ring = false;           // provided-buffer rings register
  bool recv_multishot = false;     // multishot recv with provided buffers
  bool connect_direct = false;     // IORING_OP_CONNECT on a direct descriptor
  unsigned table_slots = 0;        // slots one ring's table may have (= soft RLIMIT_NOFILE)
  std::string kernel;              // uname release, e.g. "6.1.0-18-amd64"
  // Empty when every feature works; otherwise why not, e.g.
  // "io_uring_setup: EPERM (Operation not permitted): kernel.io_uring_disabled=2".
  std::string reason;

  // Everything the serve engine needs works.
  bool ok() const {
    return rings && direct_descriptors && accept_direct && buf_ring && recv_multishot;
  }
  // Everything the load engine needs works.
  bool connect_ok() const { return rings && direct_descriptors && connect_direct; }
};

// Probes io_uring; see the file comment. Call after raising RLIMIT_NOFILE,
// since table_slots is read from the current soft limit.
UringSupport DetectUring();
// The load engine's needs only (rings, direct descriptors, IORING_OP_CONNECT
// on one): fills rings, direct_descriptors, connect_direct and reason.
UringSupport DetectUringConnect();

}  // namespace tcpmax::sys

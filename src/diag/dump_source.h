// DumpSource: where inet_diag answers come from. The live source is a
// NETLINK_SOCK_DIAG socket; tests and `--replay` use recorded answers;
// RecordingSource tees a live source into a file.
//
// Recording format (tests/data/netlink/*.nlrec): a sequence of frames, each
// an 8-byte header {u32 length (little endian), u8 family, u8 version = 1,
// u16 zero} followed by `length` bytes: one datagram exactly as recv()
// returned it, in the dump for `family` (AF_INET, AF_INET6, or AF_UNSPEC for
// the single-walk compat dump of both).
// Not thread-safe: a source serves one dump at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/fd.h"

namespace tcpmax::diag {

class DumpSource {
 public:
  virtual ~DumpSource() = default;
  // Sends one complete dump request (a netlink message) for `family`.
  virtual Result<void> Send(int family, std::span<const uint8_t> request) = 0;
  // Receives the next datagram of the answer into `buf`; returns its full
  // length, which may exceed buf.size() when it was truncated (MSG_TRUNC).
  virtual Result<size_t> Receive(std::span<uint8_t> buf) = 0;
};

// A NETLINK_SOCK_DIAG socket with a large receive buffer.
class NetlinkSource : public DumpSource {
 public:
  // Fails with the errno of socket()/bind(): EPROTONOSUPPORT, EACCES, EPERM
  // mean "netlink refused" and callers fall back to /proc.
  static Result<std::unique_ptr<NetlinkSource>> Open();
  Result<void> Send(int family, std::span<const uint8_t> request) override;
  Result<size_t> Receive(std::span<uint8_t> buf) override;

 private:
  explicit NetlinkSource(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// Plays back a recording: Send(family) selects that family's next recorded
// dump (EOPNOTSUPP when the recording holds none), Receive returns its
// datagrams in order.
class ReplaySource : public DumpSource {
 public:
  static Result<std::unique_ptr<ReplaySource>> Load(const std::string& path);
  // Builds a source from frames already in memory (for tests).
  static Result<std::unique_ptr<ReplaySource>> FromBytes(std::span<const uint8_t> bytes, const std::string& name);
  Result<void> Send(int family, std::span<const uint8_t> request) override;
  Result<size_t> Receive(std::span<uint8_t> buf) override;

 private:
  struct Datagram {
    int family;
    std::vector<uint8_t> bytes;
  };
  std::string name_;
  std::deque<Datagram> frames_;
  int family_ = 0;
};

// Passes everything through from `inner` and appends each datagram received
// to a recording file.
class RecordingSource : public DumpSource {
 public:
  static Result<std::unique_ptr<RecordingSource>> Create(std::unique_ptr<DumpSource> inner, const std::string& path);
  Result<void> Send(int family, std::span<const uint8_t> request) override;
  Result<size_t> Receive(std::span<uint8_t> buf) override;

 private:
  std::unique_ptr<DumpSource> inner_;
  std::string path_;
  std::ofstream out_;
  int family_ = 0;
};

}  // namespace tcpmax::diag

// Shared by the privileged tests of `tcpmax userland` (TUN and AF_PACKET,
// IPv4 and IPv6): namespace checks, polling, the veth pair between an
// engine namespace and a peer namespace, and the kernel-socket echo client
// the tests run in the peer's namespace.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "harness.h"

namespace tcpmax::testing {

inline bool NetnsExists(const std::string& name) {
  struct stat st {};
  return stat(("/run/netns/" + name).c_str(), &st) == 0;
}

// Runs `command` every 100 ms until it succeeds (true) or 10 s pass.
inline bool WaitFor(const std::string& command) {
  for (int i = 0; i < 100; ++i) {
    if (RunShell(command, 5).exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Two namespaces and a veth between them, each end up with its address
// ("198.18.0.1/24", or IPv6 "2001:db8::1/64", added without duplicate
// address detection); removed on construction (leftovers) and destruction.
struct VethSpec {
  const char* engine_ns;
  const char* peer_ns;
  const char* engine_if;
  const char* peer_if;
  const char* engine_addr;
  const char* peer_addr;
};

class Veth {
 public:
  explicit Veth(const VethSpec& s) : s_(s) {
    Remove();
    std::string nodad = std::string(s.engine_addr).find(':') != std::string::npos ? " nodad" : "";
    ok_ = RunShell(fmt::format("ip netns add {e} && ip netns add {p} && ip link add {ei} netns {e} type veth peer name "
                               "{pi} netns {p} && ip -n {e} addr add {ea} dev {ei}{nd} && ip -n {p} addr add {pa} dev "
                               "{pi}{nd} && ip -n {e} link set {ei} up && ip -n {p} link set {pi} up && ip -n {e} link "
                               "set lo up && ip -n {p} link set lo up",
                               fmt::arg("e", s.engine_ns), fmt::arg("p", s.peer_ns), fmt::arg("ei", s.engine_if),
                               fmt::arg("pi", s.peer_if), fmt::arg("ea", s.engine_addr), fmt::arg("pa", s.peer_addr),
                               fmt::arg("nd", nodad)))
              .exit_code == 0;
  }
  ~Veth() { Remove(); }
  Veth(const Veth&) = delete;
  Veth& operator=(const Veth&) = delete;
  bool ok() const { return ok_; }

 private:
  void Remove() const {
    RunShell(fmt::format("ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null", s_.engine_ns, s_.peer_ns));
  }
  VethSpec s_;
  bool ok_ = false;
};

// A Python client of kernel sockets: `connections` connections to `host`,
// alternately on ports 8080 and 80, each sending "hello", 3,000 bytes and
// 256 x `repeats` bytes and checking every echoed byte, then half-closing
// and expecting the server's FIN. An IPv6 host's sockets must be AF_INET6.
// Prints "ok N" (N connections that passed); exits non-zero at the first fault.
inline std::string EchoClientsScript(const std::string& host, int connections, int repeats) {
  return fmt::format(R"PY(
import socket, sys
ok = 0
for i in range({1}):
    s = socket.create_connection(("{0}", 80 if i % 2 else 8080), timeout=5)
    if ":" in "{0}" and s.family != socket.AF_INET6:
        sys.exit("not an IPv6 socket")
    for msg in (b"hello", b"x" * 3000, bytes(range(256)) * {2}):
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("server closed early")
            got += chunk
        if got != msg:
            sys.exit("echo mismatch on connection %d" % i)
    s.shutdown(socket.SHUT_WR)
    if s.recv(10) != b"":
        sys.exit("expected the server's FIN")
    s.close()
    ok += 1
print("ok", ok)
)PY",
                     host, connections, repeats);
}

}  // namespace tcpmax::testing

// count_holder: one shard of bench/count's socket population. Listens on
// 127.0.0.1:PORT, opens CONNS loopback connections to it from the given
// source addresses (round robin, bind-before-connect with
// IP_BIND_ADDRESS_NO_PORT) and accepts them, so it holds 2*CONNS+1 sockets.
// Prints "ready <sockets>" on stdout, then holds until stdin reaches EOF or
// SIGTERM/SIGINT arrives, and closes everything with SO_LINGER 0 (RST: no
// TIME_WAIT left behind). Bounded: CONNS is capped by the fd limit.
//
//   count_holder PORT CONNS SRC[,SRC...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Fail(const char* what) {
  std::fprintf(stderr, "count_holder: %s: %s\n", what, std::strerror(errno));
  return 1;
}

void CloseAll(std::vector<int>& fds) {
  linger lg{1, 0};
  for (int fd : fds) {
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
  }
  fds.clear();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: count_holder PORT CONNS SRC[,SRC...]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  long conns = std::atol(argv[2]);
  std::vector<in_addr> sources;
  for (char* tok = std::strtok(argv[3], ","); tok; tok = std::strtok(nullptr, ",")) {
    in_addr a{};
    if (inet_pton(AF_INET, tok, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
      std::fprintf(stderr, "count_holder: source '%s' is not a 127.0.0.0/8 address\n", tok);
      return 2;
    }
    sources.push_back(a);
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (port <= 0 || port > 65535 || conns <= 0 || sources.empty() || 2 * conns + 16 > long(rl.rlim_cur)) {
    std::fprintf(stderr, "count_holder: bad PORT/CONNS (fd limit %ld)\n", long(rl.rlim_cur));
    return 2;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGPIPE, SIG_IGN);

  std::vector<int> fds;
  fds.reserve(2 * conns + 1);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 || listen(l, 4096) != 0) return Fail("listen");
  fds.push_back(l);

  constexpr long kBatch = 1000;  // below the accept backlog
  for (long done = 0; done < conns && !g_stop;) {
    long batch = std::min(kBatch, conns - done);
    for (long i = 0; i < batch; ++i) {
      int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c < 0) { CloseAll(fds); return Fail("socket"); }
      fds.push_back(c);
      setsockopt(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr = sources[(done + i) % sources.size()];
      if (bind(c, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) { CloseAll(fds); return Fail("bind"); }
      if (connect(c, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) { CloseAll(fds); return Fail("connect"); }
    }
    for (long i = 0; i < batch; ++i) {
      int a = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
      if (a < 0) { CloseAll(fds); return Fail("accept"); }
      fds.push_back(a);
    }
    done += batch;
  }
  std::printf("ready %zu\n", fds.size());
  std::fflush(stdout);
  char buf[64];
  while (!g_stop) {
    pollfd p{0, POLLIN, 0};
    if (poll(&p, 1, 1000) > 0 && read(0, buf, sizeof buf) <= 0) break;  // EOF: the driver is gone
  }
  CloseAll(fds);
  return 0;
}

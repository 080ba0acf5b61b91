// naive_hold: the baseline bench/hold compares tcpmax with: what one writes
// without thinking about limits. One blocking accept() loop, or one blocking
// bind(src:0) + connect() loop per process (the tcpkali way, no
// IP_BIND_ADDRESS_NO_PORT), forked into as many processes as the fd limit
// requires. Each process holds its sockets until SIGTERM.
//
//   naive_hold serve PORT N       accept N connections on 127.0.0.1:PORT
//   naive_hold connect PORT N     connect N times from 127.0.x.y (x.y >= 0.1)
//
// Prints one JSON line when every process is done:
//   {"role":..,"held":..,"seconds":..,"rss_bytes":..,"processes":..,"errors":..}
// where rss_bytes is the growth of RSS during the loops, summed over processes.
// then holds until SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

long RssBytes() {
  long size = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = 0;
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

sockaddr_in Addr(uint32_t host_order_ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host_order_ip);
  a.sin_port = htons(port);
  return a;
}

// Child body: returns "held errors rss" through `out`.
void Child(bool serve, int lfd, uint16_t port, long first, long count, int out) {
  long held = 0, errors = 0, rss0 = RssBytes();
  for (long i = first; i < first + count; ++i) {
    if (serve) {
      int c = accept(lfd, nullptr, nullptr);
      if (c < 0) {
        ++errors;
        if (errno == EMFILE || errno == ENFILE) break;
        continue;
      }
      ++held;
      continue;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      ++errors;
      break;
    }
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    sockaddr_in src = Addr(0x7f000001u + 0x100u + static_cast<uint32_t>(i % 60000), 0);  // 127.0.1.0 onwards
    sockaddr_in dst = Addr(0x7f000001u, port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      ++errors;
      close(fd);
      continue;
    }
    ++held;
  }
  char line[128];
  int n = snprintf(line, sizeof line, "%ld %ld %ld\n", held, errors, RssBytes() - rss0);
  if (write(out, line, n) != n) _exit(1);
  pause();
  _exit(0);
}

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[1], "serve") != 0 && strcmp(argv[1], "connect") != 0)) {
    fprintf(stderr, "usage: naive_hold serve|connect PORT N\n");
    return 2;
  }
  bool serve = strcmp(argv[1], "serve") == 0;
  uint16_t port = static_cast<uint16_t>(atoi(argv[2]));
  long n = atol(argv[3]);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  long per = static_cast<long>(rl.rlim_cur) - 32;
  int procs = static_cast<int>((n + per - 1) / per);
  int lfd = -1;
  if (serve) {
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = Addr(0x7f000001u, port);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 65535) != 0) {
      fprintf(stderr, "naive_hold: listen 127.0.0.1:%u: %s\n", port, strerror(errno));
      return 1;
    }
    printf("{\"role\":\"serve\",\"ready\":true}\n");
    fflush(stdout);
  }
  int pfd[2];
  if (pipe(pfd) != 0) return 1;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  double start = Now();
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; ++p) {
    long first = p * per;
    long count = std::min(per, n - first);
    pid_t pid = fork();
    if (pid == 0) {
      signal(SIGTERM, SIG_DFL);
      close(pfd[0]);
      Child(serve, lfd, port, first, count, pfd[1]);
    }
    kids.push_back(pid);
  }
  close(pfd[1]);
  FILE* in = fdopen(pfd[0], "r");
  long held = 0, errors = 0, rss = 0;
  for (int p = 0; p < procs; ++p) {
    long h = 0, e = 0, r = 0;
    if (fscanf(in, "%ld %ld %ld", &h, &e, &r) != 3) break;
    held += h;
    errors += e;
    rss += r;
  }
  printf("{\"role\":\"%s\",\"held\":%ld,\"seconds\":%.3f,\"rss_bytes\":%ld,\"processes\":%d,\"errors\":%ld}\n",
         argv[1], held, Now() - start, rss, procs, errors);
  fflush(stdout);
  while (!g_stop) pause();
  for (pid_t k : kids) kill(k, SIGKILL);
  for (pid_t k : kids) waitpid(k, nullptr, 0);
  return 0;
}

#include "metrics/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "core/clock.h"
#include "sys/process.h"

namespace tcpmax::metrics {
namespace {

constexpr size_t kMaxRequest = 4096;
constexpr int kRequestTimeoutMs = 2000;

void WriteAll(int fd, std::string_view data) {
  uint64_t deadline = MonotonicNanos() + uint64_t{kRequestTimeoutMs} * 1'000'000;
  while (!data.empty() && MonotonicNanos() < deadline) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;
    }
  }
}

// Reads until the end of the request head; "" on timeout, overflow or EOF.
std::string ReadHead(int fd) {
  std::string req;
  uint64_t deadline = MonotonicNanos() + uint64_t{kRequestTimeoutMs} * 1'000'000;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    uint64_t now = MonotonicNanos();
    if (now >= deadline || req.size() > kMaxRequest) return "";
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>((deadline - now) / 1'000'000) + 1) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      return "";
    }
    req.append(buf, static_cast<size_t>(n));
  }
  return req;
}

}  // namespace

Result<Endpoint> ParseMetricsAddress(std::string_view text) {
  auto eps = ParseEndpointSpec(text, /*allow_port_zero=*/true);
  if (!eps) return PlainError(fmt::format("'{}': {}", text, eps.error().context));
  if (eps->size() != 1) return PlainError(fmt::format("'{}': expected one ADDR:PORT", text));
  return (*eps)[0];
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const Endpoint& at) {
  Fd listener(::socket(at.ip.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener) return ErrnoError("metrics socket");
  int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = at.ToSockaddr(&ss);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return ErrnoError("metrics bind " + at.ToString());
  }
  if (::listen(listener.get(), 16) != 0) return ErrnoError("metrics listen " + at.ToString());
  socklen_t got = sizeof ss;
  if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&ss), &got) != 0) {
    return ErrnoError("metrics getsockname");
  }
  Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return ErrnoError("metrics eventfd");
  Endpoint bound = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(listener), std::move(wake), bound));
  {
    sys::BlockStopSignals block;  // SIGINT/SIGTERM go to the command's thread
    server->thread_ = std::thread([s = server.get()] { s->Loop(); });
  }
  return server;
}

MetricsServer::MetricsServer(Fd listener, Fd wake, Endpoint at)
    : listener_(std::move(listener)), wake_(std::move(wake)), endpoint_(at) {}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void MetricsServer::Publish(std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  text_ = std::move(text);
}

void MetricsServer::Loop() {
  for (;;) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (conn) Answer(conn.get());
  }
}

void MetricsServer::Answer(int fd) {
  std::string req = ReadHead(fd);
  if (req.empty()) return;
  bool get = req.rfind("GET ", 0) == 0;
  size_t path_end = req.find(' ', 4);
  std::string path = get && path_end != std::string::npos ? req.substr(4, path_end - 4) : "";
  std::string body, status = "200 OK";
  if (!get) {
    status = "405 Method Not Allowed";
    body = "only GET\n";
  } else if (path != "/metrics" && path != "/") {
    status = "404 Not Found";
    body = "see /metrics\n";
  } else {
    std::lock_guard<std::mutex> lock(mu_);
    body = text_;
  }
  if (status[0] == '2') scrapes_.fetch_add(1);
  WriteAll(fd, fmt::format("HTTP/1.0 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                           "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                           status, body.size(), body));
}

}  // namespace tcpmax::metrics

// bench/proto/tls_memory: heap bytes per idle TLS connection, each side, as
// tcpmax's TLS layer (src/proto/tls.h) keeps them: N client/server session
// pairs complete their handshake in memory (no sockets, so only user-space
// memory is counted), exchange one message, and go idle. Heap in use
// (mallinfo2) is read before, with every pair idle, and after freeing the
// servers, so each side's share is exact; RSS after malloc_trim is shown too.
// Side by side: OpenSSL's defaults, SSL_MODE_RELEASE_BUFFERS, and parked
// sessions (TlsConfig::park: the SSL object freed once idle, the traffic keys
// kept), with and without released buffers; the parked rows count the
// sessions that parked on each side.
//
// usage: tls_memory [N=2000] [tls-version 12|13, default 13]
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "proto/tls.h"
#include "proto/tls_cert.h"

using namespace tcpmax::proto;

namespace {

size_t HeapInUse() { return mallinfo2().uordblks + mallinfo2().hblkhd; }

size_t RssBytes() {
  long pages = 0, rss = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(rss) * 4096;
}

struct Side {
  TlsIo io;
  TlsSession s;
  std::string out;
};

// Moves bytes between the two sides until both are quiet.
void Pump(Side& c, Side& s, bool* ok) {
  for (int round = 0; round < 20; ++round) {
    bool moved = false;
    for (auto [from, to] : {std::pair{&c, &s}, std::pair{&s, &c}}) {
      if (from->out.empty()) continue;
      std::string wire = std::move(from->out);
      from->out.clear();
      to->s.Bind(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &to->out);
      if (!to->s.handshake_done() && to->s.Handshake() == TlsStatus::kFailed) *ok = false;
      uint8_t buf[256];
      TlsStatus st;
      while (to->s.handshake_done() && to->s.Read(buf, sizeof buf, &st) > 0) {
      }
      moved = true;
    }
    if (!moved) return;
  }
}

struct Result {
  double client = 0, server = 0, rss = 0;
  int client_parked = 0, server_parked = 0;
};

Result Measure(int n, int version, bool release, bool park, const PemPair& pem, const std::string& ca_path) {
  TlsConfig sc;
  sc.server = true;
  sc.cert_pem = pem.cert_pem;
  sc.key_pem = pem.key_pem;
  sc.release_buffers = release;
  sc.park = park;
  sc.min_version = sc.max_version = version;
  TlsConfig cc;
  cc.ca_file = ca_path;
  cc.sni = "localhost";
  cc.release_buffers = release;
  cc.park = park;
  cc.min_version = cc.max_version = version;
  auto server = TlsContext::Create(sc);
  auto client = TlsContext::Create(cc);
  if (!server || !client) std::exit(1);
  std::vector<std::unique_ptr<Side>> clients, servers;
  malloc_trim(0);
  size_t heap0 = HeapInUse(), rss0 = RssBytes();
  bool ok = true;
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Side>();
    auto s = std::make_unique<Side>();
    c->s = std::move(*TlsSession::Open(**client, &c->io));
    s->s = std::move(*TlsSession::Open(**server, &s->io));
    c->s.Bind(nullptr, 0, &c->out);
    c->s.Handshake();
    Pump(*c, *s, &ok);
    c->s.Bind(nullptr, 0, &c->out);
    c->s.Write("hello");
    Pump(*c, *s, &ok);
    c->out.shrink_to_fit();
    s->out.shrink_to_fit();
    clients.push_back(std::move(c));
    servers.push_back(std::move(s));
  }
  if (!ok) {
    std::fprintf(stderr, "handshake failed\n");
    std::exit(1);
  }
  malloc_trim(0);
  size_t heap1 = HeapInUse(), rss1 = RssBytes();
  Result r;
  for (const auto& c : clients) r.client_parked += c->s.parked();
  for (const auto& s : servers) r.server_parked += s->s.parked();
  servers.clear();
  malloc_trim(0);
  size_t heap2 = HeapInUse();
  r.server = (double(heap1) - double(heap2)) / n;
  r.client = (double(heap2) - double(heap0)) / n;
  r.rss = (double(rss1) - double(rss0)) / n;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  int version = argc > 2 ? std::atoi(argv[2]) : 13;
  auto pem = MakeSelfSigned("localhost");
  if (!pem) return 1;
  char path[] = "/tmp/tcpmax-tls-memory.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, pem->cert_pem.data(), pem->cert_pem.size()) < 0) return 1;
  close(fd);
  std::printf("tls_memory: %d idle TLS 1.%d sessions per side (P-256 certificate, resumption on), heap bytes per connection\n",
              n, version - 10);
  std::printf("%-34s %12s %12s %16s\n", "", "client", "server", "RSS (both)");
  Result def = Measure(n, version, false, false, *pem, path);
  Result rel = Measure(n, version, true, false, *pem, path);
  Result park = Measure(n, version, false, true, *pem, path);
  Result park_rel = Measure(n, version, true, true, *pem, path);
  std::printf("%-34s %12.0f %12.0f %16.0f\n", "OpenSSL defaults", def.client, def.server, def.rss);
  std::printf("%-34s %12.0f %12.0f %16.0f\n", "SSL_MODE_RELEASE_BUFFERS", rel.client, rel.server, rel.rss);
  std::printf("%-34s %12.0f %12.0f %16.0f   parked: %d client, %d server\n", "parked (--tls-park)", park.client,
              park.server, park.rss, park.client_parked, park.server_parked);
  std::printf("%-34s %12.0f %12.0f %16.0f   parked: %d client, %d server\n", "parked, buffers released",
              park_rel.client, park_rel.server, park_rel.rss, park_rel.client_parked, park_rel.server_parked);
  std::printf("ratio default/released             %12.2f %12.2f\n", def.client / rel.client, def.server / rel.server);
  std::printf("ratio released/parked              %12.2f %12.2f\n", rel.client / park_rel.client,
              rel.server / park_rel.server);
  unlink(path);
  return 0;
}

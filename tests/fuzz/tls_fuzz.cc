// libFuzzer target: the TLS session (proto/tls) fed hostile bytes.
// A client session sends its ClientHello and then reads the input as the
// server's answer; a server session (self-signed identity made once) reads
// the input as a client's first flight. Either must end in kWant, kFailed or
// kClosed without crashing, leaking or reading past the input; with
// release_buffers chosen by the input's first byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "proto/tls.h"
#include "proto/tls_cert.h"

namespace {

using tcpmax::proto::TlsStatus;

std::shared_ptr<tcpmax::proto::TlsContext> Make(bool server, bool release) {
  tcpmax::proto::TlsConfig c;
  c.server = server;
  c.release_buffers = release;
  c.insecure = true;
  c.alpn = {"http/1.1"};
  if (server) {
    static tcpmax::proto::PemPair pem = *tcpmax::proto::MakeSelfSigned("localhost");
    c.cert_pem = pem.cert_pem;
    c.key_pem = pem.key_pem;
  }
  return *tcpmax::proto::TlsContext::Create(c);
}

void Drive(tcpmax::proto::TlsContext& ctx, const uint8_t* data, size_t n, size_t stride) {
  tcpmax::proto::TlsIo io;
  auto s = tcpmax::proto::TlsSession::Open(ctx, &io);
  if (!s) std::abort();
  std::string out;
  s->Bind(nullptr, 0, &out);
  TlsStatus hs = s->Handshake();
  size_t at = 0;
  while (at < n && hs != TlsStatus::kFailed && hs != TlsStatus::kClosed) {
    size_t take = std::min(stride, n - at);
    s->Bind(data + at, take, &out);
    at += take;
    if (hs == TlsStatus::kWant) hs = s->Handshake();
    while (hs == TlsStatus::kDone) {
      uint8_t buf[1024];
      TlsStatus st;
      if (s->Read(buf, sizeof buf, &st) == 0) {
        if (st == TlsStatus::kFailed || st == TlsStatus::kClosed) hs = st;
        break;
      }
    }
    if (s->input_left() > take) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  bool release = data[0] & 1;
  size_t stride = 1 + (data[0] >> 1) % 64;
  static auto client = Make(false, false), client_rel = Make(false, true);
  static auto server = Make(true, false), server_rel = Make(true, true);
  Drive(release ? *client_rel : *client, data + 1, size - 1, stride);
  Drive(release ? *server_rel : *server, data + 1, size - 1, stride);
  return 0;
}

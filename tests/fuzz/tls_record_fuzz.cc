// libFuzzer target: the record layer of a parked TLS 1.3 session
// (proto/tls_record). The first byte picks the suite, the second a stride.
// Properties: hostile bytes as received records, fed whole or split at the
// stride, give the same plaintext and the same end (want, closed, failed);
// a failure has a reason; and the input sealed by one side opens to itself
// on the facing side, whatever the read size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "proto/tls_record.h"

namespace {

using tcpmax::proto::ParkedStatus;
using tcpmax::proto::ParkedTls;
using tcpmax::proto::TlsSuite;

struct Facing {
  std::unique_ptr<ParkedTls> a, b;
  explicit Facing(TlsSuite s) {
    uint8_t s1[48], s2[48];
    for (int i = 0; i < 48; ++i) {
      s1[i] = static_cast<uint8_t>(i * 3);
      s2[i] = static_cast<uint8_t>(200 - i);
    }
    a = ParkedTls::Make(s, s1, s2, 0, 0);
    b = ParkedTls::Make(s, s2, s1, 0, 0);
    if (!a || !b) std::abort();
  }
};

std::string Feed(ParkedTls& to, const std::string& wire, size_t stride, size_t cap, ParkedStatus* end) {
  std::string plain, out;
  size_t at = 0;
  *end = ParkedStatus::kWant;
  while (at < wire.size()) {
    size_t n = std::min(stride, wire.size() - at);
    const auto* in = reinterpret_cast<const uint8_t*>(wire.data()) + at;
    size_t left = n;
    at += n;
    for (;;) {
      uint8_t buf[20000];
      size_t got = to.Read(&in, &left, buf, cap, &out, end);
      if (got > cap) std::abort();
      if (*end != ParkedStatus::kData) break;
      plain.append(reinterpret_cast<char*>(buf), got);
    }
    if (*end == ParkedStatus::kFailed || *end == ParkedStatus::kClosed) break;
    if (left != 0) std::abort();  // kWant only once every byte is taken
  }
  return plain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  TlsSuite suite = static_cast<TlsSuite>(data[0] % 3);
  size_t stride = 1 + data[1] % 64;
  std::string body(reinterpret_cast<const char*>(data) + 2, size - 2);

  // Hostile records: whole or split, the same outcome.
  Facing whole(suite), split(suite);
  ParkedStatus e1, e2;
  std::string p1 = Feed(*whole.b, body, body.size() + 1, 20000, &e1);
  std::string p2 = Feed(*split.b, body, stride, stride * 5, &e2);
  if (p1 != p2 || e1 != e2) std::abort();
  if (e1 == ParkedStatus::kFailed && whole.b->failure().empty()) std::abort();

  // Round trip: sealed by a, opened by b, read in pieces of any size.
  Facing f(suite);
  std::string wire;
  if (!f.a->Write(body, &wire)) std::abort();
  ParkedStatus e3;
  std::string back = Feed(*f.b, wire, stride * 7, stride, &e3);
  if (back != body || e3 != ParkedStatus::kWant) std::abort();
  return 0;
}

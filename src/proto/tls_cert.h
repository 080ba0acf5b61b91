// A self-signed certificate made in memory (P-256 key, SHA-256 signature,
// subjectAltName DNS:<name> and IP:127.0.0.1), for `serve --tls` without
// --cert/--key and for tests and fuzzers that need a server identity.
// Thread-safety: pure; safe from any thread.
#pragma once

#include <string>

#include "core/error.h"

namespace tcpmax::proto {

struct PemPair {
  std::string cert_pem;
  std::string key_pem;
};

// Valid from now for `days` days.
Result<PemPair> MakeSelfSigned(const std::string& name, int days = 30);

}  // namespace tcpmax::proto

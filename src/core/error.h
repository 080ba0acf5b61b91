// Error and Result: how every fallible call in tcpmax reports failure.
//
// Error keeps the raw errno so callers can tell EMFILE (this process) from
// ENFILE (the whole system), plus what was being done when it happened.
// Result<T> is tl::expected<T, Error> (g++ 12 has no std::expected).
// Expected conditions (EAGAIN, EINPROGRESS) are values, never Errors.
// Thread-safety: plain values; safe to copy across threads.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace tcpmax {

struct Error {
  int code = 0;          // errno; 0 when not from a syscall
  std::string context;   // "connect 127.0.0.5 -> 127.0.0.1:7000"

  // "connect 127.0.0.5 -> 127.0.0.1:7000: EADDRNOTAVAIL (Cannot assign requested address)"
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Makes an unexpected Error from errno (read at the call) and a context.
tl::unexpected<Error> ErrnoError(std::string context);
// Makes an unexpected Error from an explicit errno value.
tl::unexpected<Error> ErrnoError(int code, std::string context);
// Makes an unexpected Error that did not come from a syscall.
tl::unexpected<Error> PlainError(std::string context);

// "EADDRNOTAVAIL" for EADDRNOTAVAIL; "errno 1234" for unknown values.
std::string_view ErrnoName(int code);
// The C library's description, e.g. "Cannot assign requested address".
std::string ErrnoText(int code);

}  // namespace tcpmax

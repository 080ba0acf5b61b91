#include "core/error.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace tcpmax {

std::string Error::ToString() const {
  if (code == 0) return context;
  return fmt::format("{}: {} ({})", context, ErrnoName(code), ErrnoText(code));
}

tl::unexpected<Error> ErrnoError(std::string context) {
  return ErrnoError(errno, std::move(context));
}

tl::unexpected<Error> ErrnoError(int code, std::string context) {
  return tl::unexpected<Error>(Error{code, std::move(context)});
}

tl::unexpected<Error> PlainError(std::string context) {
  return tl::unexpected<Error>(Error{0, std::move(context)});
}

std::string_view ErrnoName(int code) {
  // glibc 2.32+ has strerrorname_np; Debian 12 ships 2.36.
  const char* name = strerrorname_np(code);
  if (name != nullptr) return name;
  return "EUNKNOWN";
}

std::string ErrnoText(int code) {
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  return strerror_r(code, buf, sizeof buf);
}

}  // namespace tcpmax

#include "sys/nft.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/fd.h"
#include "sys/command.h"

namespace tcpmax::sys {
namespace {

std::string TableRef(std::string_view family, std::string_view name) { return fmt::format("{} {}", family, name); }

}  // namespace

Result<void> NftAvailable() {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    std::string file = dir + "/nft";
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(file.c_str(), X_OK) == 0) return {};
  }
  return ErrnoError(ENOENT, "nft not found on PATH (install the Debian package nftables)");
}

Result<void> NftApply(std::string_view script) {
  // The script goes through a memory file: nothing is left on disk, and
  // /proc/PID/fd/N opens it from the child whatever its descriptor flags.
  Fd fd(::memfd_create("tcpmax-nft", MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create for nft -f");
  size_t done = 0;
  while (done < script.size()) {
    ssize_t n = ::write(fd.get(), script.data() + done, script.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write the nft script");
    }
    done += size_t(n);
  }
  std::string path = fmt::format("/proc/{}/fd/{}", ::getpid(), fd.get());
  if (auto r = RunCommand({"nft", "-f", path}); !r) return tl::unexpected(r.error());
  return {};
}

std::optional<uint64_t> ParseNftTableHandle(std::string_view listing) {
  size_t eol = listing.find('\n');
  std::string_view first = listing.substr(0, eol);
  constexpr std::string_view kTag = "# handle ";
  size_t at = first.find(kTag);
  if (first.rfind("table ", 0) != 0 || at == std::string_view::npos) return std::nullopt;
  std::string_view digits = first.substr(at + kTag.size());
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p == digits.data()) return std::nullopt;
  return v;
}

Result<std::optional<uint64_t>> NftTableHandle(std::string_view family, std::string_view name) {
  auto out = RunCommand({"nft", "-a", "list", "table", std::string(family), std::string(name)});
  if (!out) {
    // nft says "Error: No such file or directory" for a table that is not there.
    if (out.error().context.find("No such file or directory") != std::string::npos) return std::nullopt;
    return tl::unexpected(out.error());
  }
  auto handle = ParseNftTableHandle(*out);
  if (!handle) return ErrnoError(EPROTO, "nft -a list table " + TableRef(family, name) + ": no handle in its output");
  return handle;
}

Result<void> NftDeleteTable(std::string_view family, std::string_view name) {
  if (auto r = RunCommand({"nft", "delete", "table", std::string(family), std::string(name)}); !r) {
    return tl::unexpected(r.error());
  }
  return {};
}

}  // namespace tcpmax::sys

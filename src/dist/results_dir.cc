#include "dist/results_dir.h"

#include <cerrno>

#include "sys/safe_file.h"

namespace tcpmax::dist {

Result<Fd> PrepareResults(const std::string& dir, const std::string& run_id, int rank) {
  if (auto ok = CheckRunId(run_id); !ok) return tl::unexpected(ok.error());
  auto fd = sys::OpenOrMakeDirectory(dir);
  if (!fd) return tl::unexpected(fd.error());
  std::string name = RankFileName(run_id, rank);
  if (sys::ExistsBeneath(fd->get(), name)) {
    return ErrnoError(EEXIST, dir + "/" + name + " exists (a finished run; give another --run-id or directory)");
  }
  return std::move(*fd);
}

Result<std::string> WriteRankFile(int dirfd, const std::string& dir, const RankResult& r) {
  std::string name = RankFileName(r.run_id, r.rank);
  auto ok = sys::WriteNewFileBeneath(dirfd, name, RankResultToJson(r).dump(1) + "\n");
  if (!ok) return tl::unexpected(ok.error());
  return dir + "/" + name;
}

Result<RankResult> ReadRankFile(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
  auto fd = sys::OpenDirectory(dir);
  if (!fd) return tl::unexpected(fd.error());
  auto text = sys::ReadFileBeneath(fd->get(), leaf, size_t{64} << 20);
  if (!text) return ErrnoError(text.error().code, path + ": " + text.error().context);
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return PlainError(path + ": not JSON");
  auto r = RankResultFromJson(j);
  if (!r) return PlainError(path + ": " + r.error().context);
  return r;
}

}  // namespace tcpmax::dist

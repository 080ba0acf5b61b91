// tcpmax merge: combine the result files of the ranks of one distributed run
// (load --results DIR) exactly: counts and errors summed, histograms merged
// bucket for bucket; name missing ranks, stragglers and start skew.
// Flags -> dist::ReadRankFile each -> dist::MergeRanks -> report/dist.h.
// Exit codes: 0 merged; 2 bad flags, an unreadable or invalid file, or files
// of different runs (nothing is written then).
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "dist/merge.h"
#include "dist/results_dir.h"
#include "report/dist.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "merge";

struct Options {
  std::vector<std::string> files;
  bool json = false;
  std::string html;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("files", o.files, "rank result files (DIR/<run id>-rank<N>.json) of one run")->required();
  app.add_flag("--json", o.json, "print the merged result as one JSON object (schema tcpmax.merge/1)");
  app.add_option("--html", o.html, "also write a self-contained HTML page to FILE");
}

}  // namespace

int RunMerge(int argc, char** argv) {
  CLI::App app{"Merge the result files of a distributed run exactly (counts, errors, latency histograms).",
               std::string(kName)};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  std::vector<dist::RankResult> ranks;
  for (const std::string& path : o.files) {
    auto r = dist::ReadRankFile(path);
    if (!r) return UsageError(kName, r.error().ToString());
    ranks.push_back(std::move(*r));
  }
  auto merged = dist::MergeRanks(std::move(ranks));
  if (!merged) return UsageError(kName, merged.error().context);
  if (!o.html.empty()) {
    std::ofstream out(o.html, std::ios::trunc);
    out << report::MergeHtml(*merged);
    out.flush();
    if (!out) return RuntimeError(kName, Error{errno, "write --html " + o.html});
  }
  if (o.json) {
    fmt::print("{}\n", report::MergeJson(*merged).dump());
  } else {
    fmt::print("{}", report::MergeText(*merged));
  }
  return kExitOk;
}

}  // namespace tcpmax::cli

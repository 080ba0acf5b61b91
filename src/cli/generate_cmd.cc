// tcpmax __generate: the hidden entry point the build runs to write the man
// pages and the shell completion scripts from the commands' own CLI11 Apps
// (cli_spec.h), so none of them can drift from --help.
//   tcpmax __generate --out DIR --theory docs/theory.md
// writes DIR/man/tcpmax.1, DIR/man/tcpmax-COMMAND.1, DIR/man/tcpmax.7,
// DIR/bash/tcpmax and DIR/zsh/_tcpmax (and removes stale pages in DIR/man).
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/cli_spec.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/man_page.h"
#include "cli/build_info.h"  // generated in the build tree (cmake/build_info.cmake)

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "__generate";

Result<void> WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return tl::unexpected(Error{errno, "write " + path.string()});
  return {};
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return tl::unexpected(Error{errno, "open " + path});
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The page date: SOURCE_DATE_EPOCH when set (reproducible builds), else today (UTC).
std::string PageDate() {
  time_t t = ::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr) t = std::strtoll(epoch, nullptr, 10);
  struct tm utc {};
  ::gmtime_r(&t, &utc);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &utc);
  return buf;
}

Result<void> Generate(const std::filesystem::path& out, const std::string& theory_path) {
  auto commands = DescribeCommands(Commands());
  if (!commands) return tl::unexpected(commands.error());
  auto theory = ReadFile(theory_path);
  if (!theory) return tl::unexpected(theory.error());
  std::error_code ec;
  for (const char* dir : {"man", "bash", "zsh"}) {
    std::filesystem::create_directories(out / dir, ec);
    if (ec) return tl::unexpected(Error{ec.value(), "mkdir " + (out / dir).string()});
  }
  for (const auto& entry : std::filesystem::directory_iterator(out / "man", ec)) {
    if (entry.is_regular_file()) std::filesystem::remove(entry.path(), ec);
  }
  ManInfo info{TCPMAX_VERSION, PageDate()};
  std::vector<std::pair<std::filesystem::path, std::string>> files = {
      {out / "man" / "tcpmax.1", MainManPage(*commands, info)},
      {out / "man" / "tcpmax.7", TheoryManPage(*theory, info)},
      {out / "bash" / "tcpmax", BashCompletion(*commands)},
      {out / "zsh" / "_tcpmax", ZshCompletion(*commands)},
  };
  for (const CommandSpec& c : *commands) {
    files.emplace_back(out / "man" / (ManPageName(c) + ".1"), CommandManPage(c, info));
  }
  for (const auto& [path, text] : files) {
    if (auto ok = WriteFile(path, text); !ok) return ok;
  }
  return {};
}

}  // namespace

int RunGenerate(int argc, char** argv) {
  CLI::App app{"Write the man pages and shell completion scripts (run by the build).", std::string(kName)};
  std::string out, theory;
  app.add_option("--out", out, "output directory")->required();
  app.add_option("--theory", theory, "the theory text for tcpmax(7) (docs/theory.md)")->required();
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  if (auto ok = Generate(out, theory); !ok) return RuntimeError(kName, ok.error());
  return kExitOk;
}

}  // namespace tcpmax::cli

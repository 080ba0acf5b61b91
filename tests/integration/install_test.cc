// make install's layout: `cmake --install` into a DESTDIR (what `make install
// DESTDIR=...` runs) puts every file where the FHS expects it, every man page
// renders with no groff warning, every flag each command's --help lists is in
// its man page, and the uninstall removes every file again.
#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "harness.h"
#include "install_util.h"

namespace tcpmax::testing {
namespace {

const std::string kBuild = TCPMAX_BUILD_DIR;

// A fresh DESTDIR with the build installed under `prefix`, and a copy of the
// manifest that install wrote; removed on destruction.
struct Installed {
  explicit Installed(const std::string& prefix) : root(MakeTempDir("tcpmax-install")) {
    manifest = root + ".manifest";
    install = RunShell("DESTDIR=" + root + " cmake --install " + kBuild + " --prefix " + prefix +
                       " --component tcpmax >/dev/null && cp " + kBuild + "/install_manifest_tcpmax.txt " + manifest);
  }
  ~Installed() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    std::filesystem::remove(manifest, ec);
  }
  std::string root, manifest;
  RunResult install;
};

std::set<std::string> ExpectedFiles(const std::string& prefix, const std::string& zsh_dir) {
  std::set<std::string> files = {prefix + "/bin/tcpmax",
                                 prefix + "/share/man/man1/tcpmax.1.gz",
                                 prefix + "/share/man/man7/tcpmax.7.gz",
                                 prefix + "/share/bash-completion/completions/tcpmax",
                                 prefix + "/share/zsh/" + zsh_dir + "/_tcpmax",
                                 prefix + "/share/doc/tcpmax/copyright",
                                 prefix + "/share/doc/tcpmax/README.md"};
  for (const std::string& c : HelpCommands()) files.insert(prefix + "/share/man/man1/tcpmax-" + c + ".1.gz");
  return files;
}

TEST(Install, PutsEveryFileWhereTheFhsExpects) {
  Installed i("/usr");
  ASSERT_EQ(i.install.exit_code, 0) << i.install.err;
  ASSERT_GE(HelpCommands().size(), 8u);
  EXPECT_EQ(FilesUnder(i.root), ExpectedFiles("usr", "vendor-completions"));
  struct stat st {};
  ASSERT_EQ(::stat((i.root + "/usr/bin/tcpmax").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXOTH) << "the binary is executable by everyone";
  RunResult v = RunShell(i.root + "/usr/bin/tcpmax version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("commit"), std::string::npos) << v.out;
}

TEST(Install, LocalPrefixPutsZshCompletionInSiteFunctions) {
  Installed i("/usr/local");
  ASSERT_EQ(i.install.exit_code, 0) << i.install.err;
  EXPECT_EQ(FilesUnder(i.root), ExpectedFiles("usr/local", "site-functions"));
}

TEST(Install, EveryManPageRendersWithoutWarnings) {
  Installed i("/usr");
  ASSERT_EQ(i.install.exit_code, 0) << i.install.err;
  int pages = 0;
  for (const std::string& f : FilesUnder(i.root)) {
    if (f.find("/man/man") == std::string::npos) continue;
    ++pages;
    std::string page = i.root + "/" + f;
    RunResult warn = RunShell("LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l " + page + " 2>&1 >/dev/null");
    EXPECT_EQ(warn.out, "") << f;
    RunResult text = RunShell("LC_ALL=C.UTF-8 MANWIDTH=80 man -l " + page);
    EXPECT_EQ(text.exit_code, 0) << f;
    EXPECT_NE(text.out.find("NAME"), std::string::npos) << f;
  }
  EXPECT_EQ(pages, int(HelpCommands().size()) + 2);  // one per command, tcpmax(1), tcpmax(7)
}

bool HasWord(const std::string& text, const std::string& word) {
  auto part = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool left = at == 0 || !part(text[at - 1]);
    bool right = at + word.size() == text.size() || !part(text[at + word.size()]);
    if (left && right) return true;
  }
  return false;
}

TEST(Install, EveryFlagHelpListsIsInTheManPage) {
  Installed i("/usr");
  ASSERT_EQ(i.install.exit_code, 0) << i.install.err;
  int checked = 0;
  for (const std::string& c : HelpCommands()) {
    std::string page = i.root + "/usr/share/man/man1/tcpmax-" + c + ".1.gz";
    std::string text = RunShell("LC_ALL=C.UTF-8 MANWIDTH=250 man -l " + page).out;
    std::vector<std::vector<std::string>> commands = {{c}};
    for (const std::string& sub : HelpSubcommands(c)) commands.push_back({c, sub});
    for (const auto& command : commands) {
      for (const std::string& flag : HelpFlags(command)) {
        EXPECT_TRUE(HasWord(text, flag)) << "tcpmax " << command.back() << " " << flag << " missing from " << page;
        ++checked;
      }
    }
    if (c == "userland") {
      EXPECT_EQ(commands.size(), 3u) << "userland serve and load";
    }
  }
  EXPECT_GT(checked, 100);  // limits alone has 22 flags
}

TEST(Install, UninstallRemovesEveryFile) {
  Installed i("/usr");
  ASSERT_EQ(i.install.exit_code, 0) << i.install.err;
  ASSERT_FALSE(FilesUnder(i.root).empty());
  RunResult u = RunShell("DESTDIR=" + i.root + " cmake -DMANIFEST=" + i.manifest + " -P " + TCPMAX_SOURCE_DIR +
                         "/cmake/uninstall.cmake");
  EXPECT_EQ(u.exit_code, 0) << u.err;
  EXPECT_EQ(FilesUnder(i.root), std::set<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(i.root + "/usr/share/doc/tcpmax"));
}

}  // namespace
}  // namespace tcpmax::testing

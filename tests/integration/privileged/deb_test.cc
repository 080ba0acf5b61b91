// The Debian package end to end: cpack builds the .deb from this build,
// lintian finds no error in it, `apt-get install ./tcpmax_*.deb` installs it,
// the installed tcpmax answers `limits --json` and climbs `probe --target 10k`,
// its man page and bash completion are found where the system looks, and
// `apt-get purge` leaves none of its files or directories on disk.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "install_util.h"
#include "run_lock_wait.h"

namespace tcpmax::testing {
namespace {

const std::string kApt = "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 ";

bool PackageInstalled() {
  return RunShell("dpkg-query -W -f='${Status}' tcpmax 2>/dev/null | grep -q 'install ok installed'").exit_code == 0;
}

// The paths the package ships ("/usr/bin/tcpmax", "/usr/share/doc/tcpmax/", ...).
std::vector<std::string> PackagePaths(const std::string& deb) {
  std::vector<std::string> paths;
  std::istringstream in(RunShell("dpkg-deb --fsys-tarfile " + deb + " | tar -t").out);
  for (std::string p; std::getline(in, p);) {
    if (p.rfind("./", 0) == 0 && p.size() > 2) paths.push_back(p.substr(1));
  }
  return paths;
}

TEST(Deb, BuildsLintsInstallsRunsAndPurgesClean) {
  TCPMAX_REQUIRE_NET_ADMIN();
  if (PackageInstalled()) GTEST_SKIP() << "SKIPPED: a tcpmax package is installed on this box already; not touching it";
  ASSERT_TRUE(WaitForRunLock()) << "another tcpmax run held the run lock for 10 minutes";
  std::string dir = MakeTempDir("tcpmax-deb");
  RunResult pack = RunShell("cd " TCPMAX_BUILD_DIR " && cpack -G DEB -B " + dir + " 2>&1", 300);
  ASSERT_EQ(pack.exit_code, 0) << pack.out;
  std::string deb = RunShell("ls " + dir + "/tcpmax_*.deb").out;
  deb = deb.substr(0, deb.find('\n'));
  ASSERT_FALSE(deb.empty()) << pack.out;

  // Runtime dependencies come from dpkg-shlibdeps: liburing for io_uring.
  std::string control = RunShell("dpkg-deb -f " + deb + " Depends Description").out;
  EXPECT_NE(control.find("liburing"), std::string::npos) << control;
  EXPECT_NE(control.find("TCP connections"), std::string::npos) << control;
  RunResult lint = RunShell("lintian --fail-on error " + deb + " 2>/dev/null", 300);
  EXPECT_EQ(lint.exit_code, 0) << lint.out;
  EXPECT_EQ(lint.out.find("E: "), std::string::npos) << lint.out;

  RunResult install = RunShell(kApt + "install " + deb + " 2>&1", 300);
  // Whatever fails below, the package does not stay on the box.
  struct PurgeOnExit {
    ~PurgeOnExit() {
      if (PackageInstalled()) RunShell(kApt + "purge tcpmax >/dev/null 2>&1", 300);
    }
  } purge_on_exit;
  ASSERT_EQ(install.exit_code, 0) << install.out;
  EXPECT_TRUE(PackageInstalled());
  RunResult limits = RunShell("/usr/bin/tcpmax limits --json");
  EXPECT_EQ(limits.exit_code, 0) << limits.err;
  auto j = nlohmann::json::parse(limits.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded());
  if (!j.is_discarded()) {
    EXPECT_EQ(j.value("schema", ""), "tcpmax.limits/2");
  }
  RunResult probe = RunShell("/usr/bin/tcpmax probe --target 10k --first-port 17500 --json", 300);
  EXPECT_EQ(probe.exit_code, 0) << probe.err;
  auto rep = nlohmann::json::parse(probe.out, nullptr, false);
  ASSERT_FALSE(rep.is_discarded()) << probe.out << probe.err;
  EXPECT_EQ(rep["result"]["reached"], 10000);
  EXPECT_EQ(rep["result"]["verification"]["ok"], true);
  // Found where the system looks: man's path, bash-completion's loader.
  EXPECT_EQ(RunShell("man -w tcpmax-probe").out, "/usr/share/man/man1/tcpmax-probe.1.gz\n");
  EXPECT_EQ(RunShell("man -w 7 tcpmax").out, "/usr/share/man/man7/tcpmax.7.gz\n");
  RunResult loaded = RunShell(
      "bash --norc -c '. /usr/share/bash-completion/bash_completion; __load_completion tcpmax; complete -p tcpmax'");
  EXPECT_NE(loaded.out.find("-F _tcpmax tcpmax"), std::string::npos) << loaded.out << loaded.err;

  std::vector<std::string> paths = PackagePaths(deb);
  ASSERT_GT(paths.size(), 15u);
  RunResult purge = RunShell(kApt + "purge tcpmax 2>&1", 300);
  EXPECT_EQ(purge.exit_code, 0) << purge.out;
  EXPECT_FALSE(PackageInstalled());
  EXPECT_NE(RunShell("dpkg -s tcpmax >/dev/null 2>&1").exit_code, 0) << "no config-files state left either";
  // Nothing of it left: its files, and the directories that were its own.
  for (const std::string& p : paths) {
    if (p.back() == '/') {
      if (p.find("tcpmax") != std::string::npos) {
        EXPECT_FALSE(std::filesystem::exists(p)) << p;
      }
    } else {
      EXPECT_FALSE(std::filesystem::exists(p)) << p;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tcpmax::testing

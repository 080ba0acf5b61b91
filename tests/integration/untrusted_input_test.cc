// Untrusted input at the CLI: numbers that overflow, are negative or carry a
// stray separator are one-line usage errors (exit 2); `--set` keys that
// cannot take effect are refused; `limits --record` never writes through a
// planted link; `limits --snapshot` refuses links, FIFOs and devices at once
// with one line, survives odd content and never prints raw control bytes.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace tcpmax::testing {
namespace {

namespace fs = std::filesystem;

bool OneLine(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/tcpmax-untrusted-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~Scratch() { fs::remove_all(root_); }
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }
  std::string Snapshot(const std::string& name) const {
    fs::copy(std::string(TCPMAX_TEST_DATA) + "/snapshots/stock-distro", Path(name), fs::copy_options::recursive);
    return Path(name);
  }

 private:
  std::string root_;
};

TEST(UntrustedInput, BadNumbersAreOneLineUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"limits", "--nat", "gcp", "--nat-vm-ports", "18446744073709551615"},
      {"limits", "--nat", "gcp", "--nat-vm-ports", "18446744073709551616"},
      {"limits", "--destinations", "99999999999999999999k"},
      {"limits", "--destinations", "1,5k"},
      {"limits", "--listen-ports", "-5"},
      {"limits", "--app-bytes", "1,5K"},
      {"load", "127.0.0.1:1", "-n", "18446744073709551615"},
      {"load", "127.0.0.1:1", "-n", "1,5k"},
      {"probe", "--target", "1,5k"},
      {"probe", "--target", "99999999999999999999k"},
  };
  for (const auto& args : cases) {
    RunResult r = RunTcpmax(args, 30);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << "\n" << r.out << r.err;
    EXPECT_TRUE(OneLine(r.err)) << shown << ": " << r.err;
  }
}

TEST(UntrustedInput, SetKeysThatCannotTakeEffectAreRefused) {
  RunResult bogus = RunTcpmax({"limits", "--set", "slab.nosuch_cache=100"}, 30);
  EXPECT_EQ(bogus.exit_code, 2) << bogus.err;
  EXPECT_TRUE(OneLine(bogus.err)) << bogus.err;
  // A cache the model uses takes effect even when slabinfo was read.
  std::string snap = std::string(TCPMAX_TEST_DATA) + "/snapshots/this-box";
  RunResult r = RunTcpmax({"limits", "--snapshot", snap, "--set", "slab.TCP=100000"}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("TCP 100,000"), std::string::npos) << r.out;
}

TEST(UntrustedInput, RecordIntoADirectoryWithPlantedLinksRefuses) {
  Scratch s;
  fs::create_directories(s.Path("rec/proc"));
  std::ofstream(s.Path("victim.txt")) << "ORIGINAL\n";
  fs::create_symlink("../../victim.txt", s.Path("rec/proc/meminfo"));
  fs::create_symlink("../victim2.txt", s.Path("rec/process"));
  RunResult r = RunTcpmax({"limits", "--record", s.Path("rec")}, 30);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  std::ifstream victim(s.Path("victim.txt"));
  std::string line;
  std::getline(victim, line);
  EXPECT_EQ(line, "ORIGINAL") << "a file was overwritten through a planted link";
  EXPECT_FALSE(fs::exists(s.Path("victim2.txt"))) << "a file was created through a planted link";
  // A new directory is created and recorded into.
  RunResult fresh = RunTcpmax({"limits", "--record", s.Path("fresh")}, 30);
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(fs::exists(s.Path("fresh/process")));
}

TEST(UntrustedInput, SnapshotWithDevZeroLinkOrFifoFailsFastWithOneLine) {
  Scratch s;
  std::string zero = s.Snapshot("zero");
  fs::remove(zero + "/proc/meminfo");
  fs::create_symlink("/dev/zero", zero + "/proc/meminfo");
  RunResult r = RunTcpmax({"limits", "--snapshot", zero}, 10);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("proc/meminfo is a symbolic link"), std::string::npos) << r.err;

  std::string fifo = s.Snapshot("fifo");
  fs::remove(fifo + "/proc/meminfo");
  ASSERT_EQ(mkfifo((fifo + "/proc/meminfo").c_str(), 0600), 0);
  RunResult f = RunTcpmax({"limits", "--snapshot", fifo}, 10);  // killed (-1) if it hangs
  EXPECT_EQ(f.exit_code, 2) << f.err;
  EXPECT_TRUE(OneLine(f.err)) << f.err;
  EXPECT_NE(f.err.find("proc/meminfo is a FIFO"), std::string::npos) << f.err;
}

TEST(UntrustedInput, SnapshotWithOddContentNeverAbortsOrPrintsControlBytes) {
  Scratch s;
  std::string rel = s.Snapshot("rel");
  std::ofstream(rel + "/proc/self/cgroup", std::ios::trunc) << "0::relative/path\n";
  RunResult a = RunTcpmax({"limits", "--snapshot", rel}, 30);
  EXPECT_EQ(a.exit_code, 0) << a.err;

  std::string bad = s.Snapshot("utf8");
  std::ofstream(bad + "/proc/sys/fs/file-max", std::ios::trunc) << "\xff\xfe\x1b]0;title\x07\x1b[31m\n";
  std::ofstream(bad + "/proc/self/cgroup", std::ios::trunc) << "0::/user.slice/\xff\x1b[2J\n";
  RunResult j = RunTcpmax({"limits", "--snapshot", bad, "--json"}, 30);
  EXPECT_EQ(j.exit_code, 0) << j.err;
  EXPECT_FALSE(nlohmann::json::parse(j.out, nullptr, false).is_discarded());
  for (const auto& args : {std::vector<std::string>{"limits", "--snapshot", bad},
                           std::vector<std::string>{"limits", "--snapshot", bad, "--explain"}}) {
    RunResult t = RunTcpmax(args, 30);
    EXPECT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(t.out.find('\x1b'), std::string::npos) << "ESC reached the terminal";
    EXPECT_EQ(t.err.find('\x1b'), std::string::npos) << "ESC reached the terminal";
    EXPECT_EQ(t.out.find('\x07'), std::string::npos);
  }
}


TEST(UntrustedInput, UserlandLoadTooBigForMemoryIsRefusedBeforeAnyChange) {
  // 500G connections need ~175 GiB of bitmaps: refused up front (exit 2), not
  // after the namespace was made.
  RunResult r = RunTcpmax({"userland", "load", "198.18.0.1:1-128", "-n", "500G", "--source", "198.19.0.0/16",
                           "--netns", "tmx-ul-toobig"},
                          30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(OneLine(r.err)) << r.err;
  EXPECT_NE(r.err.find("of bitmaps, more than half of MemAvailable"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("/run/netns/tmx-ul-toobig"));
}

// IPv6 addresses the userland engines refuse before changing anything: one
// line naming what was wrong, exit 2.
TEST(UntrustedInput, UserlandIpv6MistakesAreOneLineUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"userland", "serve", "--listen", "[2001:db8::1]:80", "--link", "af_packet", "--interface", "lo"},
       "--interface lo: 2001:db8::1 is not an address of it"},
      {{"userland", "serve", "--listen", "[2001:db8::1]:80", "--link", "af_packet", "--interface", "tmx-nosuch6"},
       "--interface tmx-nosuch6"},
      {{"userland", "serve", "--listen", "[fd00::1]:80"}, "an IPv6 address must be in 2001:db8::/32"},
      {{"userland", "serve", "--listen", "[2001:db8::fffe]:80"}, "not 2001:db8::fffe, the kernel's"},
      {{"userland", "serve", "--listen", "2001:db8::1:80"}, "write IPv6 as [ADDRESS]:PORTS"},
      {{"userland", "serve", "--listen", "[198.18.0.1]:80"}, "brackets hold an IPv6 address"},
      {{"userland", "serve", "--listen", "[2001:db8::1]:80", "--route", "198.18.0.0/15"},
       "must be a range inside 2001:db8::/32"},
      {{"userland", "load", "[2001:db8::1]:80", "-n", "10", "--source", "2001:db8:1::/64"}, "of at most /96"},
      {{"userland", "load", "[2001:db8::1]:80", "-n", "10", "--source", "198.19.0.0/16"}, "of at most /96"},
      {{"userland", "load", "[2001:db8::1]:80", "-n", "10", "--source", "2001:db8::/112"},
       "must not contain the target or 2001:db8::fffe"},
      {{"userland", "load", "198.18.0.1:80", "-n", "10", "--source", "2001:db8:1::/112"},
       "must be an IPv4 range inside 198.18.0.0/15"},
  };
  for (const Case& c : cases) {
    RunResult r = RunTcpmax(c.args, 30);
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    EXPECT_EQ(r.exit_code, 2) << shown << r.err;
    EXPECT_TRUE(OneLine(r.err)) << shown << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << shown << ": " << r.err;
  }
  EXPECT_FALSE(fs::exists("/run/netns/tcpmax-ul"));
}

}  // namespace
}  // namespace tcpmax::testing

// Untrusted directories: a snapshot sent in a bug report and a directory to
// record into. Links are never followed, FIFOs and devices never read, files
// never overwritten, contents never echoed raw.
#include "sys/safe_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sys/cgroup.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::sys {
namespace {

namespace fs = std::filesystem;

class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/tcpmax-safe-file-XXXXXX";
    root_ = ::mkdtemp(tmpl);
  }
  ~Scratch() { fs::remove_all(root_); }
  std::string Path(const std::string& rel) const { return root_ + "/" + rel; }
  // A copy of a recorded snapshot to tamper with.
  std::string Snapshot(const std::string& name) const {
    std::string dst = Path(name);
    fs::copy(std::string(TCPMAX_TEST_DATA) + "/snapshots/stock-distro", dst, fs::copy_options::recursive);
    return dst;
  }

 private:
  std::string root_;
};

TEST(SafeFile, SnapshotWithALinkToDevZeroIsRefusedAtOnce) {
  Scratch s;
  std::string dir = s.Snapshot("s");
  fs::remove(dir + "/proc/meminfo");
  fs::create_symlink("/dev/zero", dir + "/proc/meminfo");
  auto r = SnapshotReader::Open(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("proc/meminfo is a symbolic link"), std::string::npos) << r.error().context;
}

TEST(SafeFile, SnapshotWithAFifoIsRefusedWithoutHanging) {
  Scratch s;
  std::string dir = s.Snapshot("s");
  fs::remove(dir + "/proc/meminfo");
  ASSERT_EQ(mkfifo((dir + "/proc/meminfo").c_str(), 0600), 0);
  auto start = std::chrono::steady_clock::now();
  auto r = SnapshotReader::Open(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("proc/meminfo is a FIFO"), std::string::npos) << r.error().context;
  // And reading it directly (a FIFO planted after Open) does not block either.
  Fd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  auto read = ReadFileBeneath(d.get(), "proc/meminfo");
  ASSERT_FALSE(read);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SafeFile, OversizeFileAndDotDotPathsAreRefused) {
  Scratch s;
  std::string dir = s.Snapshot("s");
  std::ofstream(dir + "/proc/slabinfo") << std::string(kMaxSnapshotFileBytes + 1, 'x');
  auto r = SnapshotReader::Open(dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
  Fd d(open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  EXPECT_FALSE(ReadFileBeneath(d.get(), "proc/../process"));
  EXPECT_FALSE(ReadFileBeneath(d.get(), "/etc/passwd"));
  EXPECT_TRUE(ReadFileBeneath(d.get(), "process"));
}

TEST(SafeFile, RelativeCgroupPathIsUnknownNotACrash) {
  Scratch s;
  std::string dir = s.Snapshot("s");
  std::ofstream(dir + "/proc/self/cgroup", std::ios::trunc) << "0::relative/path\n";
  auto reader = SnapshotReader::Open(dir);
  ASSERT_TRUE(reader) << reader.error().ToString();
  auto cg = ReadCgroupLimits(*reader);  // used to throw std::length_error
  ASSERT_TRUE(cg);
  EXPECT_FALSE(cg->memory_max.has_value());
  std::ofstream(dir + "/proc/self/cgroup", std::ios::trunc) << "0::/../../../..\n";
  EXPECT_TRUE(ReadCgroupLimits(*reader));
}

TEST(SafeFile, ParseErrorsNeverEchoRawBytes) {
  auto r = ParseNumbers("\x1b]0;pwned\x07 \xff secret-secret-secret-secret-secret-secret-secret");
  ASSERT_FALSE(r);
  for (char c : r.error().context) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(static_cast<unsigned char>(c));
  }
  EXPECT_EQ(r.error().context.find("secret-secret-secret-secret-secret-secret-secret"), std::string::npos)
      << "content is cut short";
  EXPECT_EQ(Printable("a\x1b[31mb\\"), "a\\x1b[31mb\\\\");
}

TEST(SafeFile, RecordRefusesADirectoryWithPlantedLinks) {
  Scratch s;
  std::string rec = s.Path("rec");
  fs::create_directories(rec + "/proc");
  std::ofstream(s.Path("victim.txt")) << "ORIGINAL\n";
  fs::create_symlink("../../victim.txt", rec + "/proc/meminfo");
  fs::create_symlink("../victim2.txt", rec + "/process");
  LiveReader live;
  RecordingReader recorder(live);
  ASSERT_TRUE(recorder.ReadFile("/proc/meminfo"));
  auto saved = recorder.Save(rec);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ENOTEMPTY) << saved.error().ToString();
  std::ifstream victim(s.Path("victim.txt"));
  std::string line;
  std::getline(victim, line);
  EXPECT_EQ(line, "ORIGINAL");
  EXPECT_FALSE(fs::exists(s.Path("victim2.txt")));
}

TEST(SafeFile, RecordNeverWritesThroughALinkEvenInAnEmptyDirectory) {
  Scratch s;
  std::string rec = s.Path("rec");
  fs::create_directories(rec);
  auto d = CreateFreshDirectory(rec);
  ASSERT_TRUE(d) << d.error().ToString();
  // A link planted after the emptiness check (a race) is not followed.
  fs::create_directories(rec + "/proc");
  fs::create_symlink(s.Path("victim3.txt"), rec + "/proc/meminfo");
  EXPECT_FALSE(WriteNewFileBeneath(d->get(), "proc/meminfo", "x"));
  EXPECT_FALSE(fs::exists(s.Path("victim3.txt")));
  fs::create_symlink(s.Path(""), rec + "/sys");
  EXPECT_FALSE(WriteNewFileBeneath(d->get(), "sys/fs/x", "x"));
  EXPECT_TRUE(WriteNewFileBeneath(d->get(), "proc/sys/fs/file-max", "1\n"));
  EXPECT_FALSE(WriteNewFileBeneath(d->get(), "proc/sys/fs/file-max", "2\n")) << "never replaces a file";
}

TEST(SafeFile, RecordCreatesItsDirectoryAndReplays) {
  Scratch s;
  std::string rec = s.Path("new/rec");
  fs::create_directories(s.Path("new"));
  LiveReader live;
  RecordingReader recorder(live);
  ASSERT_TRUE(recorder.ReadFile("/proc/meminfo"));
  ASSERT_TRUE(recorder.GetRlimit(RlimitKind::kNofile));
  auto saved = recorder.Save(rec);
  ASSERT_TRUE(saved) << saved.error().ToString();
  auto replay = SnapshotReader::Open(rec);
  ASSERT_TRUE(replay) << replay.error().ToString();
  EXPECT_TRUE(replay->ReadFile("/proc/meminfo"));
}

}  // namespace
}  // namespace tcpmax::sys

// The journal of system changes: its codec, the run lock between two
// journals, stale journals replayed by the next one, and the directory rules.
// Uses a scratch directory, never /run/tcpmax, and changes nothing on the box
// (the only change journalled is a TUN device that does not exist).
#include "sys/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace tcpmax::sys {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/tcpmax-journal-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    dir_ = root_ + "/run";
  }
  ~ScratchDir() { fs::remove_all(root_); }
  const std::string& dir() const { return dir_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_, dir_;
};

pid_t DeadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  waitpid(pid, nullptr, 0);
  return pid;
}

TEST(Journal, RecordRoundTripsThroughTheCodec) {
  std::vector<std::string> fields = {"change", "7", "sysctl", "", "net.ipv4.ip_local_port_range", "32768\t60999",
                                     "1024 65535"};
  std::string line = EncodeRecord(fields);
  EXPECT_EQ(line, "change 7 sysctl - net.ipv4.ip_local_port_range 32768%0960999 1024%2065535\n");
  std::string text = "tcpmax-journal 1 42 1000 probe%20--tune\n" + line + "applied 7 1024%0965535\n";
  auto info = ParseJournal(text);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_EQ(info->pid, 42);
  EXPECT_EQ(info->start_ticks, 1000u);
  EXPECT_EQ(info->command, "probe --tune");
  ASSERT_EQ(info->entries.size(), 1u);
  const JournalEntry& e = info->entries[0];
  EXPECT_EQ(e.change.kind, ChangeKind::kSysctl);
  EXPECT_EQ(e.change.netns, "");
  EXPECT_EQ(e.change.before, "32768\t60999");
  EXPECT_EQ(e.change.after, "1024 65535");
  EXPECT_EQ(e.applied, "1024\t65535");
  EXPECT_TRUE(e.pending());
  EXPECT_EQ(info->pending(), 1u);
}

TEST(Journal, OddBytesAndDashesSurviveTheCodec) {
  std::string odd = std::string("a%b -\xff\x1b[31m\n") + '\0' + "z";
  std::string text = "tcpmax-journal 1 1 1 x\n" + EncodeRecord({"change", "1", "route", "-", odd, "", "-"});
  auto info = ParseJournal(text);
  ASSERT_TRUE(info) << info.error().ToString();
  ASSERT_EQ(info->entries.size(), 1u);
  EXPECT_EQ(info->entries[0].change.netns, "-");
  EXPECT_EQ(info->entries[0].change.key, odd);
  EXPECT_EQ(info->entries[0].change.before, "");
  EXPECT_EQ(info->entries[0].change.after, "-");
  for (char c : EncodeRecord({odd})) {
    if (c != '\n') {
      EXPECT_TRUE(c > 0x20 && c < 0x7f) << int(c);
    }
  }
}

TEST(Journal, SettledChangesAreNotPendingAndATornLastLineIsIgnored) {
  std::string text = "tcpmax-journal 1 5 9 probe\n" + EncodeRecord({"change", "1", "sysctl", "", "a.b", "1", "2"}) +
                     EncodeRecord({"change", "2", "sysctl", "", "a.c", "1", "2"}) +
                     EncodeRecord({"settled", "1", "undone", ""}) + "settled 2 und";
  auto info = ParseJournal(text);
  ASSERT_TRUE(info) << info.error().ToString();
  EXPECT_FALSE(info->entries[0].pending());
  EXPECT_TRUE(info->entries[1].pending());
}

TEST(Journal, MalformedJournalsAreErrorsNotCrashes) {
  for (std::string text : {"", "hello\n", "tcpmax-journal 2 1 1 x\n", "tcpmax-journal 1 x 1 x\n",
                           "tcpmax-journal 1 1 1 x\nchange 1 bogus - k a b\n",
                           "tcpmax-journal 1 1 1 x\napplied 9 v\n", "tcpmax-journal 1 1 1 x\nchange 1 sysctl %G1 k a b\n",
                           "tcpmax-journal 1 1 1 x\nchange 1 sysctl - k a%\n"}) {
    EXPECT_FALSE(ParseJournal(text)) << text;
  }
}

TEST(Journal, StartTicksNameALiveProcessOnly) {
  EXPECT_TRUE(ProcessStartTicks(getpid()).has_value());
  EXPECT_FALSE(ProcessStartTicks(DeadPid()).has_value());
  pid_t zombie = fork();
  if (zombie == 0) _exit(0);
  // Wait until it has exited (a zombie: not reaped yet), however busy the box.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, zombie, &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(ProcessStartTicks(zombie).has_value()) << "a zombie has exited: its journal is stale";
  waitpid(zombie, nullptr, 0);
}

TEST(Journal, OpenMakesAPrivateDirAndAPerPidFileRemovedWhenDone) {
  ScratchDir s;
  {
    auto j = Journal::Open(s.dir(), LockMode::kExclusive, "test", nullptr);
    ASSERT_TRUE(j) << j.error().ToString();
    struct stat st {};
    ASSERT_EQ(stat(s.dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_EQ((*j)->path(), s.dir() + "/journal." + std::to_string(getpid()));
    ASSERT_EQ(stat((*j)->path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto id = (*j)->Record(Change{ChangeKind::kTun, "", "tmxnone9", "absent", "tun"});
    ASSERT_TRUE(id) << id.error().ToString();
    auto list = ListJournals(s.dir());
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_TRUE((*list)[0].live);
    EXPECT_EQ((*list)[0].pending(), 1u);
    UndoResult r = (*j)->Undo(*id);
    EXPECT_EQ(r.outcome, Outcome::kAlready) << r.Describe();
  }
  EXPECT_FALSE(fs::exists(s.dir() + "/journal." + std::to_string(getpid())));
}

TEST(Journal, SecondRunIsRefusedNamingTheFirst) {
  ScratchDir s;
  auto first = Journal::Open(s.dir(), LockMode::kExclusive, "probe --tune", nullptr);
  ASSERT_TRUE(first) << first.error().ToString();
  for (LockMode mode : {LockMode::kExclusive, LockMode::kShared}) {
    auto second = Journal::Open(s.dir(), mode, "probe --tune", nullptr);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, EBUSY);
    EXPECT_NE(second.error().context.find("pid " + std::to_string(getpid()) + " ('probe --tune')"), std::string::npos)
        << second.error().context;
  }
}

TEST(Journal, SharedRunsCoexistButExcludeAnExclusiveOne) {
  ScratchDir s;
  auto a = Journal::Open(s.dir(), LockMode::kShared, "userland serve", nullptr);
  ASSERT_TRUE(a) << a.error().ToString();
  // Another process (same pid would reuse the file name): fork and try there.
  pid_t pid = fork();
  if (pid == 0) {
    auto b = Journal::Open(s.dir(), LockMode::kShared, "userland load", nullptr);
    auto c = Journal::Open(s.dir() , LockMode::kExclusive, "probe --tune", nullptr);
    _exit(b && !c && c.error().code == EBUSY ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(Journal, StaleJournalIsReplayedByTheNextRunAndSaid) {
  ScratchDir s;
  ASSERT_EQ(mkdir(s.dir().c_str(), 0700), 0);
  pid_t dead = DeadPid();
  std::string stale = s.dir() + "/journal." + std::to_string(dead);
  std::ofstream(stale) << "tcpmax-journal 1 " << dead << " 12345 probe%20--tune\n"
                       << EncodeRecord({"change", "1", "tun", "", "tmxnone8", "absent", "tun"})
                       << EncodeRecord({"applied", "1", "tun"});
  ::chmod(stale.c_str(), 0600);
  auto list = ListJournals(s.dir());
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_FALSE((*list)[0].live);
  std::vector<std::string> said;
  auto j = Journal::Open(s.dir(), LockMode::kExclusive, "next", [&](const std::string& l) { said.push_back(l); });
  ASSERT_TRUE(j) << j.error().ToString();
  ASSERT_EQ((*j)->replayed().size(), 1u);
  EXPECT_EQ((*j)->replayed()[0].outcome, Outcome::kAlready);
  ASSERT_GE(said.size(), 2u);
  EXPECT_NE(said[0].find("earlier run that did not finish (pid " + std::to_string(dead)), std::string::npos) << said[0];
  EXPECT_FALSE(fs::exists(stale)) << "a replayed journal is removed";
}

TEST(Journal, UnsafeDirectoryIsRefused) {
  ScratchDir s;
  ASSERT_EQ(mkdir(s.dir().c_str(), 0755), 0);
  auto open = Journal::Open(s.dir(), LockMode::kExclusive, "x", nullptr);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, EPERM) << open.error().ToString();
  std::string link = s.root() + "/link";
  ASSERT_EQ(symlink(s.dir().c_str(), link.c_str()), 0);
  ::chmod(s.dir().c_str(), 0700);
  auto via_link = Journal::Open(link, LockMode::kExclusive, "x", nullptr);
  EXPECT_FALSE(via_link) << "a symlinked journal directory must be refused";
}

TEST(Journal, AJournalFileThatIsALinkOrAFifoIsNotRead) {
  ScratchDir s;
  ASSERT_EQ(mkdir(s.dir().c_str(), 0700), 0);
  ASSERT_EQ(symlink("/etc/passwd", (s.dir() + "/journal.1").c_str()), 0);
  ASSERT_EQ(mkfifo((s.dir() + "/journal.2").c_str(), 0600), 0);  // must not hang
  std::ofstream(s.dir() + "/journal.3") << "garbage\n";
  auto list = ListJournals(s.dir());
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 3u);
  for (const JournalInfo& j : *list) EXPECT_FALSE(j.error.empty()) << j.path;
  std::vector<std::string> said;
  auto j = Journal::Open(s.dir(), LockMode::kExclusive, "x", [&](const std::string& l) { said.push_back(l); });
  ASSERT_TRUE(j) << "one bad journal must not block every run: " << j.error().ToString();
  EXPECT_EQ(said.size(), 3u);
  EXPECT_TRUE(fs::exists(s.dir() + "/journal.3")) << "left in place for a human";
}


TEST(Journal, ASharedRunThatMayNotReplaySaysStaleJournalsAreThere) {
  ScratchDir s;
  auto a = Journal::Open(s.dir(), LockMode::kShared, "userland serve", nullptr);
  ASSERT_TRUE(a) << a.error().ToString();
  pid_t dead = DeadPid();
  std::string stale = s.dir() + "/journal." + std::to_string(dead);
  std::ofstream(stale) << "tcpmax-journal 1 " << dead << " 12345 userland%20load\n"
                       << EncodeRecord({"change", "1", "tun", "", "tmxnone7", "absent", "tun"});
  pid_t pid = fork();
  if (pid == 0) {
    std::string said;
    auto b = Journal::Open(s.dir(), LockMode::kShared, "userland load", [&](const std::string& l) { said += l; });
    bool ok = b && said.find("1 journal(s) of earlier runs") != std::string::npos && fs::exists(stale);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace tcpmax::sys

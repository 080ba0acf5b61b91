#include "cli/cli_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/units.h"

namespace tcpmax::cli {

namespace {
AppInspector g_inspector;
constexpr std::string_view kValuesName = "tcpmax-values:";
constexpr std::string_view kListName = "tcpmax-list:";
}  // namespace

void SetAppInspector(AppInspector inspector) { g_inspector = std::move(inspector); }

CLI::Validator Values(std::vector<std::string> values, bool list) {
  std::string joined;
  for (const std::string& v : values) joined += (joined.empty() ? "" : ",") + v;
  std::string desc = "{" + joined + "}" + (list ? "[,...]" : "");
  std::string name = std::string(list ? kListName : kValuesName) + joined;
  return CLI::Validator([](std::string&) { return std::string(); }, desc, name);
}

std::optional<ValueSet> ValuesOf(CLI::Option& option) {
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = option.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return std::nullopt;
    }
    std::string_view name = v->get_name();
    bool list = name.starts_with(kListName);
    if (!list && !name.starts_with(kValuesName)) continue;
    name.remove_prefix(list ? kListName.size() : kValuesName.size());
    ValueSet set{{}, list};
    while (!name.empty()) {
      size_t comma = name.find(',');
      set.values.emplace_back(name.substr(0, comma));
      name = comma == std::string_view::npos ? std::string_view() : name.substr(comma + 1);
    }
    return set;
  }
}

std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv) {
  if (g_inspector) {
    g_inspector(app);
    return kExitOk;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return kExitHelp;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitHelp;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    // CLI11 messages may span lines; keep the first.
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    return UsageError(app.get_name(), msg + " (see --help)");
  }
  return std::nullopt;
}

std::string TerminalSafe(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool control = c < 0x20 || c == 0x7f;
    if (control && !(keep_lines && (c == '\n' || c == '\t'))) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

int UsageError(std::string_view command, std::string_view message) {
  fmt::print(stderr, "tcpmax {}: {}\n", command, TerminalSafe(message));
  return 2;
}

int RuntimeError(std::string_view command, const Error& error) {
  fmt::print(stderr, "tcpmax {}: {}\n", command, TerminalSafe(error.ToString()));
  return 1;
}

Progress::Progress() : tty_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Finish(); }

namespace {

// write(2) until done or an error; false on error. Never throws: progress
// and notices must not abort a run (and its cleanup) when stderr is gone.
bool WriteAll(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += size_t(n);
  }
  return true;
}

}  // namespace

void Progress::Update(std::string_view line) {
  std::fflush(stderr);  // keep order with earlier stdio output
  if (tty_) {
    (void)WriteAll(STDERR_FILENO, fmt::format("\r\033[K{}", line));
    dirty_ = true;
  } else {
    (void)WriteAll(STDERR_FILENO, fmt::format("{}\n", line));
  }
}

void Progress::Finish() {
  if (tty_ && dirty_) {
    (void)WriteAll(STDERR_FILENO, "\n");
    dirty_ = false;
  }
}

namespace {
std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_stop_signal{0};
int g_dev_null = -1;

void OnStopSignal(int sig) {
  g_stop_signal.store(sig);
  g_stop_requested.store(true);
}

// Async-signal-safe: poll(2) and dup2(2) only. A pipe whose reader is gone
// polls POLLERR on the write end; a socket, POLLHUP.
void OnSigpipe(int) {
  int saved = errno;
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    pollfd p{fd, 0, 0};
    if (g_dev_null >= 0 && ::poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP))) ::dup2(g_dev_null, fd);
  }
  errno = saved;
}

// stderr through a stream whose writes never fail: a closed stderr (EPIPE,
// or EIO after a hangup) loses the diagnostics, never the run or its
// cleanup, whoever prints (fmt::print(stderr, ...) throws on a short write).
// glibc lets a program assign stderr.
ssize_t WriteStderrIgnoringErrors(void*, const char* buf, size_t n) {
  (void)WriteAll(STDERR_FILENO, std::string_view(buf, n));
  return ssize_t(n);
}

void MakeStderrNeverFail() {
  static bool done = false;
  if (done) return;
  cookie_io_functions_t io{nullptr, WriteStderrIgnoringErrors, nullptr, nullptr};
  FILE* f = ::fopencookie(nullptr, "w", io);
  if (f == nullptr) return;
  std::fflush(stderr);
  ::setvbuf(f, nullptr, _IONBF, 0);
  stderr = f;
  done = true;
}

}  // namespace

const std::atomic<bool>& StopOnSignals() {
  MakeStderrNeverFail();
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
  if (g_dev_null < 0) g_dev_null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  struct sigaction pipe_sa {};
  pipe_sa.sa_handler = OnSigpipe;
  sigemptyset(&pipe_sa.sa_mask);
  sigaction(SIGPIPE, &pipe_sa, nullptr);
  return g_stop_requested;
}

std::string StopSignalName() {
  int sig = g_stop_signal.load();
  if (sig == 0) return "";
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void Notice(std::string_view line) {
  std::string text = "tcpmax: ";
  text.append(line);
  text.push_back('\n');
  std::fflush(stderr);
  (void)WriteAll(STDERR_FILENO, text);
}

void ConfigureApp(CLI::App& app) {
  app.get_formatter()->column_width(34);
  app.option_defaults()->always_capture_default();
}

Result<uint64_t> CountFlag(std::string_view flag, std::string_view text, bool allow_zero) {
  auto n = ParseCount(text);
  if (!n) return PlainError(fmt::format("{}: {}", flag, n.error().context));
  if (!allow_zero && *n == 0) return PlainError(fmt::format("{} '{}': expected a positive count like 4 or 10k", flag, text));
  return *n;
}

Result<uint64_t> SizeFlag(std::string_view flag, std::string_view text) {
  auto n = ParseBytes(text);
  if (!n) return PlainError(fmt::format("{}: {}", flag, n.error().context));
  return *n;
}

}  // namespace tcpmax::cli

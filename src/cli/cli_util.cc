#include "cli/cli_util.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "core/units.h"

namespace tcpmax::cli {

std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv) {
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

int UsageError(std::string_view command, std::string_view message) {
  fmt::print(stderr, "tcpmax {}: {}\n", command, message);
  return 2;
}

int RuntimeError(std::string_view command, const Error& error) {
  fmt::print(stderr, "tcpmax {}: {}\n", command, error.ToString());
  return 1;
}

Progress::Progress() : tty_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Finish(); }

void Progress::Update(std::string_view line) {
  if (tty_) {
    fmt::print(stderr, "\r\033[K{}", line);
    dirty_ = true;
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

void Progress::Finish() {
  if (tty_ && dirty_) {
    std::fputc('\n', stderr);
    dirty_ = false;
  }
}

namespace {
std::atomic<bool> g_stop_requested{false};
std::atomic<int> g_stop_signal{0};
void OnStopSignal(int sig) {
  g_stop_signal.store(sig);
  g_stop_requested.store(true);
}
}  // namespace

const std::atomic<bool>& StopOnSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return g_stop_requested;
}

std::string StopSignalName() {
  int sig = g_stop_signal.load();
  if (sig == 0) return "";
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void ConfigureApp(CLI::App& app) {
  app.get_formatter()->column_width(34);
  app.option_defaults()->always_capture_default();
}

Result<uint64_t> CountFlag(std::string_view flag, std::string_view text, bool allow_zero) {
  auto n = ParseCount(text);
  if (!n || (!allow_zero && *n == 0)) {
    return PlainError(fmt::format("{} '{}': expected a {}count like 4 or 10k", flag, text, allow_zero ? "" : "positive "));
  }
  return *n;
}

Result<uint64_t> SizeFlag(std::string_view flag, std::string_view text) {
  auto n = ParseBytes(text);
  if (!n) return PlainError(fmt::format("{} '{}': expected a size like 0, 512 or 4K", flag, text));
  return *n;
}

}  // namespace tcpmax::cli

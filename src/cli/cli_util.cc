#include "cli/cli_util.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

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

}  // namespace tcpmax::cli

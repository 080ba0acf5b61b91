// Helpers every command uses: CLI11 parsing with tcpmax's error conventions,
// one-line errors, and TTY-aware progress lines on stderr.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"

namespace tcpmax::cli {

// Parses argv into `app`. Returns an exit code when the command must stop now:
// 0 after --help (help printed to stdout), 2 after a usage error (one line on
// stderr naming the flag). Returns nullopt when the command should run.
inline constexpr int kExitHelp = 0;

std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv);

// Prints "tcpmax <command>: <message>" on stderr and returns 2.
int UsageError(std::string_view command, std::string_view message);
// Prints "tcpmax <command>: <error>" on stderr and returns 1.
int RuntimeError(std::string_view command, const Error& error);

// A status line on stderr. On a TTY it redraws in place; elsewhere each call
// prints one line (callers throttle, e.g. once a second).
class Progress {
 public:
  Progress();
  ~Progress();
  void Update(std::string_view line);
  // Ends the redrawn line so later output starts on a fresh line.
  void Finish();
  bool tty() const { return tty_; }

 private:
  bool tty_ = false;
  bool dirty_ = false;
};

// Installs SIGINT and SIGTERM handlers (without SA_RESTART, so blocking calls
// return EINTR) that set the returned flag, and ignores SIGPIPE. Long-running
// commands poll the flag, stop cleanly and print what they reached.
const std::atomic<bool>& StopOnSignals();
// "SIGINT" for the signal that set the flag; "" when none did.
std::string StopSignalName();

// Makes the application's help show defaults and wrap nicely.
void ConfigureApp(CLI::App& app);

// A count flag with units ("4", "10k", "2M"); the error names the flag and
// the text: "--processes 'x': expected a positive count like 4 or 10k".
Result<uint64_t> CountFlag(std::string_view flag, std::string_view text, bool allow_zero = false);
// A size flag with units ("0", "512", "4K"); the error names the flag.
Result<uint64_t> SizeFlag(std::string_view flag, std::string_view text);

}  // namespace tcpmax::cli

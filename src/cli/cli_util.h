// Helpers every command uses: CLI11 parsing with tcpmax's error conventions,
// one-line errors, and TTY-aware progress lines on stderr.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// While an inspector is set, ParseArgs hands it the command's fully built
// App instead of parsing, and returns kExitOk: the command stops before it
// does anything. This is how `tcpmax` describes its own commands (man pages,
// completion: cli/cli_spec.h) from the same App that drives --help.
// Not thread-safe: set, describe, reset, in one thread.
using AppInspector = std::function<void(CLI::App&)>;
void SetAppInspector(AppInspector inspector);

// Annotates an option with the values it accepts, for --help ("{a,b,c}"),
// man pages and completion. It does not reject anything: the command's
// Validate stays the one check, so aliases (ss's state spellings) keep
// working and errors keep their wording. `list`: a comma-separated list of
// the values ("established,time-wait").
CLI::Validator Values(std::vector<std::string> values, bool list = false);
struct ValueSet {
  std::vector<std::string> values;
  bool list = false;
};
// The values an option was annotated with by Values(); nullopt when none.
std::optional<ValueSet> ValuesOf(CLI::Option& option);
// Names of an enum's values, e.g. Names(kEngines, EngineName).
template <typename Range, typename NameOf>
std::vector<std::string> Names(const Range& range, NameOf name_of) {
  std::vector<std::string> out;
  for (const auto& v : range) out.emplace_back(name_of(v));
  return out;
}

// `text` with control bytes (ESC, BEL, CR...; and '\n' unless `keep_lines`)
// shown as \xNN, so text that came from files (a snapshot someone sent) cannot
// drive the terminal. Bytes >= 0x80 are kept (UTF-8).
std::string TerminalSafe(std::string_view text, bool keep_lines = false);

// Prints "tcpmax <command>: <message>" on stderr (one line, TerminalSafe)
// and returns 2.
int UsageError(std::string_view command, std::string_view message);
// Prints "tcpmax <command>: <error>" on stderr (one line, TerminalSafe) and
// returns 1.
int RuntimeError(std::string_view command, const Error& error);

// A status line on stderr. On a TTY it redraws in place; elsewhere each call
// prints one line (callers throttle, e.g. once a second). Never throws: a
// closed stderr loses the progress, not the run or its cleanup.
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

// Installs SIGINT, SIGTERM, SIGHUP (the ssh session dropped) and SIGQUIT
// handlers (without SA_RESTART, so blocking calls return EINTR) that set the
// returned flag. Long-running commands poll the flag, stop cleanly, undo what
// they changed and print what they reached. SIGPIPE no longer kills: its
// handler points a stdout/stderr whose reader is gone at /dev/null, so the
// write that failed throws once (main() catches it, after the stack unwound
// and every guard restored) and later writes, e.g. from cleanup, succeed.
// stderr itself is made a stream whose writes never fail, so diagnostics
// and progress can never stop a run; only stdout (the results) reports errors.
const std::atomic<bool>& StopOnSignals();
// "SIGINT" for the signal that set the flag; "" when none did.
std::string StopSignalName();

// Writes "tcpmax: <line>" to stderr with write(2); never throws, ignores
// errors. For notices during cleanup, when stderr may be gone.
void Notice(std::string_view line);

// Makes the application's help show defaults and wrap nicely.
void ConfigureApp(CLI::App& app);

// A count flag with units ("4", "10k", "2M"); the error names the flag and
// the text: "--processes 'x': expected a positive count like 4 or 10k".
Result<uint64_t> CountFlag(std::string_view flag, std::string_view text, bool allow_zero = false);
// A size flag with units ("0", "512", "4K"); the error names the flag.
Result<uint64_t> SizeFlag(std::string_view flag, std::string_view text);

}  // namespace tcpmax::cli

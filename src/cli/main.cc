// tcpmax: the maximum number of open TCP connections this box can have, and
// what stops it first. Dispatches `tcpmax <command>` through the table below.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "sys/run_journal.h"

namespace tcpmax::cli {
namespace {

// One row per command, in the order `tcpmax help` lists them.
const std::vector<Command> kCommands = {
    {"limits", "the ceiling of this box and what binds it (theory, no load)", RunLimits},
    {"count", "count TCP connections by state and port range", RunCount},
    {"serve", "hold, echo or answer HTTP on inbound connections (epoll or io_uring)", RunServe},
    {"load", "open and hold N outbound connections, paced, errors classified", RunLoad},
    {"probe", "the main job: climb to this box's real ceiling and report it", RunProbe},
    {"userland", "a TCP engine in user space over TUN: serve/load millions of connections, no fds", RunUserland},
    {"merge", "combine the result files of a distributed run exactly (counts, errors, histograms)", RunMerge},
    {"restore", "undo what an earlier run changed and could not undo (from the journal)", RunRestore},
};

constexpr std::string_view kVersion = "tcpmax 0.1.0";

void PrintHelp(FILE* out) {
  fmt::print(out,
             "tcpmax: how many TCP connections can this Linux box hold, and what stops it first?\n\n"
             "usage: tcpmax <command> [flags]     (tcpmax <command> --help for its flags)\n\n"
             "commands:\n");
  for (const Command& c : kCommands) fmt::print(out, "  {:<10} {}\n", c.name, c.summary);
  fmt::print(out, "  {:<10} {}\n  {:<10} {}\n", "help", "this text", "version", "print the version");
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

int Unknown(std::string_view name) {
  const Command* best = nullptr;
  size_t best_d = 3;  // suggest only close matches
  for (const Command& c : kCommands) {
    size_t d = EditDistance(name, c.name);
    bool prefix = c.name.substr(0, name.size()) == name && !name.empty();
    if (prefix) d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = &c;
    }
  }
  if (best != nullptr) {
    fmt::print(stderr, "tcpmax: unknown command '{}'; did you mean '{}'? (tcpmax help lists commands)\n", name,
               best->name);
  } else {
    fmt::print(stderr, "tcpmax: unknown command '{}' (tcpmax help lists commands)\n", name);
  }
  return kExitUsage;
}

}  // namespace

std::span<const Command> Commands() { return kCommands; }

}  // namespace tcpmax::cli

namespace tcpmax::cli {
namespace {

int Dispatch(int argc, char** argv) {
  if (argc < 2) {
    PrintHelp(stderr);
    return kExitUsage;
  }
  std::string_view name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc > 2) {
      for (const Command& c : Commands()) {
        if (c.name == argv[2]) {
          char help_flag[] = "--help";
          char* args[] = {argv[2], help_flag, nullptr};
          return c.run(2, args);
        }
      }
      return Unknown(argv[2]);
    }
    PrintHelp(stdout);
    return kExitOk;
  }
  if (name == "version" || name == "--version") {
    fmt::print("{}\n", kVersion);
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  return Unknown(name);
}

// An exception that escaped a command (an output error such as EPIPE from
// fmt, bad_alloc, a JSON type error): by the time it is caught here the stack
// has unwound, so every guard below has restored what it changed.
int Escaped(const char* what, bool output_error) {
  if (!output_error) Notice(std::string("stopped by an internal error: ") + what);
  return kExitFailure;
}

void OnTerminate() {
  // No unwinding happened (an exception in a noexcept function or another
  // thread): undo what the journal holds, then abort as terminate would.
  Notice("fatal error: undoing the changes in the journal before aborting");
  tcpmax::sys::EmergencyUndoRunJournal();
  std::abort();
}

std::string CommandLine(int argc, char** argv) {
  std::string line;
  for (int i = 1; i < argc && line.size() < 400; ++i) {
    if (!line.empty()) line.push_back(' ');
    line += argv[i];
  }
  return line;
}

}  // namespace
}  // namespace tcpmax::cli

int main(int argc, char** argv) {
  using namespace tcpmax::cli;
  std::set_terminate(OnTerminate);
  tcpmax::sys::ConfigureRunJournal(CommandLine(argc, argv), [](const std::string& line) { Notice(line); });
  int code = kExitFailure;
  try {
    code = Dispatch(argc, argv);
  } catch (const std::system_error& e) {
    code = Escaped(e.what(), e.code().value() == EPIPE);
  } catch (const std::exception& e) {
    code = Escaped(e.what(), false);
  } catch (...) {
    code = Escaped("unknown exception", false);
  }
  // Whatever is still changed (a path that skipped its guard) is undone here.
  for (const auto& r : tcpmax::sys::CloseRunJournal()) {
    if (r.outcome == tcpmax::sys::Outcome::kUndone) Notice(r.Describe());
  }
  return code;
}

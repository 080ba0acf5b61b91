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

int RunHelp(int argc, char** argv);

// One row per command, in the order `tcpmax help` lists them.
const std::vector<Command> kCommands = {
    {"limits", "the ceiling of this box and what binds it (theory, no load)", RunLimits},
    {"count", "count TCP connections by state and port range", RunCount},
    {"serve", "hold, echo or answer HTTP on inbound connections (epoll or io_uring)", RunServe},
    {"load", "open and hold N outbound connections, paced, errors classified", RunLoad},
    {"probe", "the main job: climb to this box's real ceiling and report it", RunProbe},
    {"userland", "a TCP engine in user space over TUN: serve/load millions of connections, no fds", RunUserland,
     UserlandCommands()},
    {"merge", "combine the result files of a distributed run exactly (counts, errors, histograms)", RunMerge},
    {"restore", "undo what an earlier run changed and could not undo (from the journal)", RunRestore},
    {"version", "the version, the commit it was built from, the compiler and the optional features built",
     RunVersion},
    {"help", "the list of commands, or a command's flags (tcpmax help probe)", RunHelp},
};

void PrintHelp(FILE* out) {
  fmt::print(out,
             "tcpmax: how many TCP connections can this Linux box hold, and what stops it first?\n\n"
             "usage: tcpmax <command> [flags]     (tcpmax <command> --help for its flags)\n\n"
             "commands:\n");
  for (const Command& c : kCommands) fmt::print(out, "  {:<10} {}\n", c.name, c.summary);
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

// `tcpmax help [COMMAND]`: the command list, or the command's --help.
int RunHelp(int argc, char** argv) {
  CLI::App app{"List the commands, or show a command's flags (the same text as tcpmax COMMAND --help).", "help"};
  ConfigureApp(app);
  std::string command;
  std::vector<std::string> names;
  for (const Command& c : kCommands) names.emplace_back(c.name);
  app.add_option("command", command, "the command whose flags to show")->check(Values(names));
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  if (command.empty()) {
    PrintHelp(stdout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    if (c.name == command && c.name != "help") {
      std::string name(c.name);
      char help_flag[] = "--help";
      char* args[] = {name.data(), help_flag, nullptr};
      return c.run(2, args);
    }
  }
  return command == "help" ? (PrintHelp(stdout), kExitOk) : Unknown(command);
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
  if (name == "--help" || name == "-h") name = "help";
  if (name == "--version") name = "version";
  if (name == kGenerateCommand) return RunGenerate(argc - 1, argv + 1);
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

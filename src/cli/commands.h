// The subcommand table of the `tcpmax` binary and each command's entry point.
//
// Every command: parses flags into its Options, validates them (one-line
// error, exit 2), calls its module, renders the result, maps errors to an
// exit code. argv[0] is the command's name ("limits"). Only src/cli prints.
#pragma once

#include <span>
#include <string_view>

namespace tcpmax::cli {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
  // The commands under this one ("userland serve"): `run` dispatches argv[1]
  // to them. Man pages and completion walk them too (cli/cli_spec.h).
  std::span<const Command> subcommands = {};
};

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   // the job ran and failed (a syscall error, a limit hit too early)
inline constexpr int kExitUsage = 2;     // bad flags or arguments: nothing was done

std::span<const Command> Commands();

// One declaration per command; each lives in <name>_cmd.cc.
int RunLimits(int argc, char** argv);
int RunCount(int argc, char** argv);
int RunServe(int argc, char** argv);
int RunLoad(int argc, char** argv);
int RunProbe(int argc, char** argv);
int RunUserland(int argc, char** argv);
int RunRestore(int argc, char** argv);
int RunMerge(int argc, char** argv);
int RunVersion(int argc, char** argv);
// The hidden entry point that writes the man pages and completion scripts
// (generate_cmd.cc); not in the table, so neither help nor completion shows it.
inline constexpr std::string_view kGenerateCommand = "__generate";
int RunGenerate(int argc, char** argv);

// `tcpmax userland serve|load`.
std::span<const Command> UserlandCommands();

}  // namespace tcpmax::cli

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

}  // namespace tcpmax::cli

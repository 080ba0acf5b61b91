// The description of tcpmax's commands and flags, read from the CLI11 Apps
// the commands build for --help: the one source of the man pages and the
// shell completion (generate_cmd.cc), so they cannot drift from --help.
//
// DescribeCommands runs each command's entry point with an AppInspector set
// (cli_util.h): the command builds its App as for a real run, ParseArgs hands
// the App over and the command returns before doing anything. A flag added to
// any *_cmd.cc appears here with no list to update.
// Not thread-safe (the inspector is process-wide).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

namespace tcpmax::cli {

struct FlagSpec {
  std::vector<std::string> long_names;   // "--engine"
  std::vector<std::string> short_names;  // "-n"
  std::string positional;                // "target" for a positional argument; empty for a flag
  std::string value_name;                // "N", "DIR", "TEXT"; empty when the flag takes no value
  std::string description;
  std::string default_value;             // empty when none
  std::vector<std::string> values;       // the values it accepts (cli_util.h Values); empty: free text
  bool value_list = false;               // a comma-separated list of `values`
  bool required = false;
  bool repeatable = false;

  bool takes_value() const { return !value_name.empty(); }
  // "--engine", or "-n" when there is no long name, or the positional's name.
  std::string Name() const;
};

struct CommandSpec {
  std::string path;         // "probe", "userland serve"
  std::string summary;      // the command table's one line
  std::string description;  // the App's description (what --help opens with)
  std::vector<FlagSpec> flags;
  std::vector<CommandSpec> subcommands;
};

// Describes `commands` (and their subcommands). An error names a command that
// did not build its flags through ParseArgs (it could not be described).
Result<std::vector<CommandSpec>> DescribeCommands(std::span<const Command> commands);

}  // namespace tcpmax::cli

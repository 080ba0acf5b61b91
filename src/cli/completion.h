// Shell completion scripts (bash, zsh) from the command descriptions of
// cli_spec.h: commands, subcommands, flags, and the values of flags annotated
// with Values() (engines, states, modes, NAT profiles). Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "cli/cli_spec.h"

namespace tcpmax::cli {

// For /usr/share/bash-completion/completions/tcpmax.
std::string BashCompletion(const std::vector<CommandSpec>& commands);
// For /usr/share/zsh/vendor-completions/_tcpmax.
std::string ZshCompletion(const std::vector<CommandSpec>& commands);

}  // namespace tcpmax::cli

// Man pages in roff (man(7) macros) from the command descriptions of
// cli_spec.h, and tcpmax(7) from the theory text (docs/theory.md). Pure
// functions of their inputs; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_spec.h"

namespace tcpmax::cli {

struct ManInfo {
  std::string version;  // "0.1.0"
  std::string date;     // "2026-12-01"
};

// tcpmax(1): the overview, the command list, exit status, files.
std::string MainManPage(const std::vector<CommandSpec>& commands, const ManInfo& info);
// tcpmax-<command>(1): synopsis, description, every flag (and subcommand).
std::string CommandManPage(const CommandSpec& command, const ManInfo& info);
// "tcpmax-userland" for "userland".
std::string ManPageName(const CommandSpec& command);
// tcpmax(7) from the Markdown of docs/theory.md: headings, paragraphs,
// bullets, indented code blocks, tables (as tagged paragraphs), **bold**,
// `code` and links.
std::string TheoryManPage(std::string_view markdown, const ManInfo& info);

}  // namespace tcpmax::cli

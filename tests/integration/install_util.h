// Helpers for the install, completion and package tests: the commands and
// flags the binary's own --help lists (the tests read them from there, so a
// flag added anywhere is checked with no list to update), temporary
// directories, and the files under a tree.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace tcpmax::testing {

inline std::string MakeTempDir(const std::string& stem) {
  std::string tmpl = "/tmp/" + stem + "-XXXXXX";
  char* dir = ::mkdtemp(tmpl.data());
  return dir == nullptr ? "" : std::string(dir);
}

// Paths (relative to `root`) of the regular files and symlinks under it.
inline std::set<std::string> FilesUnder(const std::string& root) {
  std::set<std::string> files;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory()) files.insert(std::filesystem::relative(it->path(), root).string());
  }
  return files;
}

// The commands `tcpmax help` lists, in order ("limits", "count", ...).
inline std::vector<std::string> HelpCommands() {
  std::vector<std::string> names;
  std::istringstream in(RunTcpmax({"help"}).out);
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "commands:") listing = true;
    else if (listing && line.size() > 2 && line[0] == ' ' && line[2] != ' ') names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

// The subcommands of `command` its --help names ("tcpmax userland serve ...").
inline std::vector<std::string> HelpSubcommands(const std::string& command) {
  std::vector<std::string> subs;
  std::istringstream in(RunTcpmax({command, "--help"}).out);
  std::regex re("^(usage:)? *tcpmax " + command + " ([a-z]+) .*");
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, m, re)) subs.push_back(m[2]);
  }
  return subs;
}

// The flag names a CLI11 --help lists: "-h", "--help", "--lport", ...
inline std::vector<std::string> HelpFlags(const std::vector<std::string>& command) {
  std::vector<std::string> args = command;
  args.push_back("--help");
  std::vector<std::string> flags;
  std::istringstream in(RunTcpmax(args).out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  -", 0) != 0) continue;
    std::string token = line.substr(2, line.find(' ', 2) - 2);
    std::istringstream names(token);
    for (std::string n; std::getline(names, n, ',');) flags.push_back(n);
  }
  return flags;
}

}  // namespace tcpmax::testing

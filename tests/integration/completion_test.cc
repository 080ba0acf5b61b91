// Shell completion as a user meets it: bash with bash-completion and the
// generated script loaded completes commands, flags and the values of
// enumerated flags (compared with the modules' own lists); zsh, driven
// through a pseudo-terminal, completes the same.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "core/engine.h"
#include "diag/tcp_state.h"
#include "harness.h"
#include "install_util.h"
#include "limits/nat.h"

namespace tcpmax::testing {
namespace {

const std::string kScripts = std::string(TCPMAX_BUILD_DIR) + "/generated/docs";

// The candidates bash offers for `line` (the cursor at its end), as the shell
// would call the function `complete -p tcpmax` names.
std::set<std::string> Complete(const std::string& line) {
  std::string script =
      "[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion\n"
      ". '" + kScripts + "/bash/tcpmax'\n"
      "fn=$(complete -p tcpmax | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')\n"
      "COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}\n"
      "read -r -a COMP_WORDS <<< \"$COMP_LINE\"\n"
      "[[ \"$COMP_LINE\" == *' ' ]] && COMP_WORDS+=('')\n"
      "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
      "$fn tcpmax \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  std::string path = MakeTempDir("tcpmax-complete") + "/t.sh";
  { std::ofstream(path) << script; }
  RunResult r = RunShell("bash --norc --noprofile " + path);
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  std::set<std::string> words;
  std::istringstream in(r.out);
  for (std::string w; std::getline(in, w);) {
    if (!w.empty()) words.insert(w);
  }
  return words;
}

template <typename Range, typename Name>
std::set<std::string> NameSet(const Range& range, Name name) {
  std::set<std::string> out;
  for (const auto& v : range) out.emplace(name(v));
  return out;
}

TEST(Completion, BashCompletesTheCommandFromItsPrefix) {
  EXPECT_EQ(Complete("tcpmax pr"), std::set<std::string>{"probe"});
  std::vector<std::string> commands = HelpCommands();
  EXPECT_EQ(Complete("tcpmax "), std::set<std::string>(commands.begin(), commands.end()));
  EXPECT_EQ(Complete("tcpmax userland "), (std::set<std::string>{"serve", "load"}));
}

TEST(Completion, BashCompletesEveryStateForCountState) {
  std::set<std::string> states = NameSet(diag::StateWords(), [](std::string_view w) { return std::string(w); });
  ASSERT_TRUE(states.count("established") && states.count("time-wait") && states.count("listen"));
  EXPECT_EQ(Complete("tcpmax count --state "), states);
  EXPECT_EQ(Complete("tcpmax count --state est"), std::set<std::string>{"established"});
  // A comma-separated list: the next state after the comma.
  EXPECT_EQ(Complete("tcpmax count --state established,time"), std::set<std::string>{"established,time-wait"});
}

TEST(Completion, BashCompletesFlagsAndEnumeratedValues) {
  EXPECT_EQ(Complete("tcpmax count --st"), std::set<std::string>{"--state"});
  EXPECT_EQ(Complete("tcpmax probe --engine "), NameSet(kEngines, EngineName));
  EXPECT_EQ(Complete("tcpmax serve --mode "), (std::set<std::string>{"hold", "echo", "http"}));
  EXPECT_EQ(Complete("tcpmax limits --nat "),
            NameSet(limits::NatProfiles(), [](const limits::NatProfile& p) { return std::string(p.name); }));
  // A free-text value gets no flag names as candidates.
  EXPECT_EQ(Complete("tcpmax probe --target "), std::set<std::string>{});
  // Every flag --help lists is offered after a dash.
  std::vector<std::string> flags = HelpFlags({"probe"});
  EXPECT_EQ(Complete("tcpmax probe -"), std::set<std::string>(flags.begin(), flags.end()));
}

// zsh through zsh/zpty: types `line` and a TAB into an interactive zsh with
// the generated _tcpmax on its fpath; returns what the terminal showed once
// `until` appeared on it (or what it showed when 20 s ran out).
std::string ZshScreen(const std::string& line, const std::string& until) {
  std::string dir = MakeTempDir("tcpmax-zsh");
  std::filesystem::copy_file(kScripts + "/zsh/_tcpmax", dir + "/_tcpmax");
  std::string script =
      "zmodload zsh/zpty\n"
      "zpty z zsh -f -i\n"
      "zpty -w z 'PS1=\"%% \"; fpath=(" + dir + " $fpath); autoload -Uz compinit; compinit -u -D; LISTMAX=0'\n"
      "zpty -wn z $'" + line + "\\t'\n"
      "out=''\n"
      "for i in {1..200}; do\n"
      "  while zpty -rt z chunk; do out+=$chunk; done\n"
      "  [[ $out == *'" + until + "'* ]] && break\n"
      "  sleep 0.1\n"
      "done\n"
      "print -r -- \"$out\"\n"
      "zpty -d z\n";
  { std::ofstream(dir + "/t.zsh") << script; }
  RunResult r = RunShell("timeout 30 zsh -f " + dir + "/t.zsh", 40);
  std::filesystem::remove_all(dir);
  return r.out;
}

TEST(Completion, ZshScriptParsesAndCompletes) {
  RunResult syntax = RunShell("zsh -n " + kScripts + "/zsh/_tcpmax");
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
  EXPECT_NE(ZshScreen("tcpmax pr", "tcpmax probe").find("tcpmax probe"), std::string::npos);
  std::string screen = ZshScreen("tcpmax count --state ", "synchronized");
  for (std::string_view state : diag::StateWords()) {
    EXPECT_NE(screen.find(state), std::string::npos) << state << " not offered:\n" << screen;
  }
}

}  // namespace
}  // namespace tcpmax::testing

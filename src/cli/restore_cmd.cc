// tcpmax restore: undo what an earlier run changed and could not undo (it was
// SIGKILLed, OOM-killed or crashed), from its journal in /run/tcpmax.
// `--list` shows every journal (live runs too) without changing anything.
// Exit codes: 0 every change undone (or nothing to do); 1 a change was left
// alone (someone else changed it since) or could not be undone, or another
// run holds the run lock; 2 bad flags.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "sys/journal.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "restore";

struct Options {
  bool list = false;
  bool json = false;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_flag("--list", o.list, "list the journals and their changes; change nothing");
  app.add_flag("--json", o.json, "print the result as JSON (schema tcpmax.restore/1)");
}

nlohmann::json ChangeJson(const sys::Change& c) {
  return {{"kind", sys::KindName(c.kind)}, {"netns", c.netns}, {"key", c.key}, {"before", c.before},
          {"after", c.after}};
}

std::string Dump(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

int List(const Options& o) {
  auto journals = sys::ListJournals(std::string(sys::kRunDir));
  if (!journals) return RuntimeError(kName, journals.error());
  if (o.json) {
    nlohmann::json out = {{"schema", "tcpmax.restore/1"}, {"journals", nlohmann::json::array()}};
    for (const auto& j : *journals) {
      nlohmann::json changes = nlohmann::json::array();
      for (const auto& e : j.entries) {
        nlohmann::json c = ChangeJson(e.change);
        c["pending"] = e.pending();
        if (e.applied) c["applied"] = *e.applied;
        if (e.settled) c["outcome"] = sys::OutcomeName(*e.settled);
        changes.push_back(c);
      }
      out["journals"].push_back({{"path", j.path}, {"pid", j.pid}, {"command", j.command}, {"live", j.live},
                                 {"error", j.error}, {"changes", changes}});
    }
    fmt::print("{}\n", Dump(out));
    return kExitOk;
  }
  if (journals->empty()) fmt::print("no journal in {}: nothing to restore\n", sys::kRunDir);
  for (const auto& j : *journals) {
    if (!j.error.empty()) {
      fmt::print("{}: UNREADABLE: {}\n", j.path, j.error);
      continue;
    }
    fmt::print("{}: pid {} ({}), '{}', {} pending\n", j.path, j.pid, j.live ? "running" : "gone", j.command,
               j.pending());
    for (const auto& e : j.entries) {
      fmt::print("  {} {}: '{}' -> '{}' [{}]\n", e.pending() ? "PENDING" : "settled", e.change.Describe(),
                 e.change.before, e.applied.value_or(e.change.after),
                 e.settled ? sys::OutcomeName(*e.settled) : "not undone");
    }
  }
  return kExitOk;
}

int Restore(const Options& o) {
  auto results = sys::RestoreStale(std::string(sys::kRunDir), nullptr);
  if (!results) return RuntimeError(kName, results.error());
  bool all_back = true;
  for (const auto& r : *results) {
    all_back &= r.outcome != sys::Outcome::kLeftAlone && r.outcome != sys::Outcome::kFailed;
  }
  if (o.json) {
    nlohmann::json out = {{"schema", "tcpmax.restore/1"}, {"restored", nlohmann::json::array()}};
    for (const auto& r : *results) {
      nlohmann::json c = ChangeJson(r.change);
      c["outcome"] = sys::OutcomeName(r.outcome);
      c["note"] = r.note;
      out["restored"].push_back(c);
    }
    fmt::print("{}\n", Dump(out));
  } else if (results->empty()) {
    fmt::print("nothing to restore: no journal of an earlier run in {}\n", sys::kRunDir);
  } else {
    for (const auto& r : *results) fmt::print("{}\n", r.Describe());
  }
  return all_back ? kExitOk : kExitFailure;
}

}  // namespace

int RunRestore(int argc, char** argv) {
  CLI::App app{
      "Undo what an earlier tcpmax run changed on this system and could not undo itself (it was killed with\n"
      "SIGKILL, by the OOM killer, or crashed): sysctls, network namespaces, routes. The changes come from the\n"
      "journals in /run/tcpmax. A value someone else changed since is left alone and reported. Any run that\n"
      "changes the system does this by itself first; this command is the manual way.",
      std::string(kName)};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  return o.list ? List(o) : Restore(o);
}

}  // namespace tcpmax::cli

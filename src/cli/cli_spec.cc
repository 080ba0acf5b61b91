#include "cli/cli_spec.h"

#include <optional>

#include <fmt/format.h>

#include "cli/cli_util.h"

namespace tcpmax::cli {
namespace {

// The option's value type without the validators' descriptions CLI11 appends
// ("TEXT:{auto,epoll,uring}" -> "TEXT").
std::string BaseTypeName(CLI::Option& opt) {
  std::string type = opt.get_type_name();
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = opt.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    std::string suffix = fmt::format(":{}", v->get_description());
    if (size_t at = type.find(suffix); suffix.size() > 1 && at != std::string::npos) type.erase(at, suffix.size());
  }
  return type;
}

FlagSpec DescribeOption(CLI::Option& opt) {
  FlagSpec f;
  for (const std::string& n : opt.get_lnames()) f.long_names.push_back("--" + n);
  for (const std::string& n : opt.get_snames()) f.short_names.push_back("-" + n);
  if (opt.nonpositional()) {
    f.positional.clear();
  } else {
    f.positional = opt.get_name(true, false);
  }
  if (opt.get_type_size_max() > 0) f.value_name = BaseTypeName(opt);
  if (f.value_name.empty() && !f.positional.empty()) f.value_name = "TEXT";
  f.description = opt.get_description();
  if (f.takes_value()) f.default_value = opt.get_default_str();
  if (auto set = ValuesOf(opt)) {
    f.values = set->values;
    f.value_list = set->list;
  }
  f.required = opt.get_required();
  f.repeatable = opt.get_expected_max() > 1;
  return f;
}

CommandSpec DescribeApp(CLI::App& app) {
  CommandSpec spec;
  spec.description = app.get_description();
  for (CLI::Option* opt : app.get_options()) spec.flags.push_back(DescribeOption(*opt));
  return spec;
}

Result<CommandSpec> Describe(const Command& c, const std::string& parent) {
  std::string path = parent.empty() ? std::string(c.name) : parent + " " + std::string(c.name);
  CommandSpec spec;
  if (c.subcommands.empty()) {
    std::optional<CommandSpec> seen;
    SetAppInspector([&](CLI::App& app) { seen = DescribeApp(app); });
    std::string name(c.name);
    char* argv[] = {name.data(), nullptr};
    c.run(1, argv);
    SetAppInspector(nullptr);
    if (!seen) return PlainError("cannot describe '" + path + "': it did not build its flags through ParseArgs");
    spec = std::move(*seen);
  }
  spec.path = path;
  spec.summary = c.summary;
  for (const Command& sub : c.subcommands) {
    auto s = Describe(sub, path);
    if (!s) return tl::unexpected(s.error());
    spec.subcommands.push_back(std::move(*s));
  }
  if (spec.description.empty()) spec.description = spec.summary;
  return spec;
}

}  // namespace

std::string FlagSpec::Name() const {
  if (!long_names.empty()) return long_names.front();
  if (!short_names.empty()) return short_names.front();
  return positional;
}

Result<std::vector<CommandSpec>> DescribeCommands(std::span<const Command> commands) {
  std::vector<CommandSpec> out;
  for (const Command& c : commands) {
    auto spec = Describe(c, "");
    if (!spec) return tl::unexpected(spec.error());
    out.push_back(std::move(*spec));
  }
  return out;
}

}  // namespace tcpmax::cli

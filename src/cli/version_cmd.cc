// tcpmax version: the version, the commit the binary was built from (`git
// describe` at build time), the compiler, and which optional features were
// compiled in. The build writes cli/build_info.h (cmake/build_info.cmake).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/build_info.h"  // generated in the build tree (cmake/build_info.cmake)

namespace tcpmax::cli {
namespace {

struct Feature {
  std::string_view name;  // "io_uring"
  std::string_view what;  // "liburing 2.3"; empty when not built
};

// What the build linked, as cmake/build_info.cmake found it in the link lines.
constexpr Feature kFeatures[] = {
    {"io_uring", TCPMAX_FEATURE_URING},
    {"tls", TCPMAX_FEATURE_TLS},
    {"mpi", TCPMAX_FEATURE_MPI},
};

std::string Compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "g++ " __VERSION__;
#else
  return "unknown compiler";
#endif
}

std::string Commit() {
  std::string_view commit = TCPMAX_COMMIT;
  return commit.empty() ? "unknown (not built from a git checkout)" : std::string(commit);
}

nlohmann::json VersionJson() {
  nlohmann::json features = nlohmann::json::object();
  for (const Feature& f : kFeatures) {
    features[std::string(f.name)] = f.what.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(f.what));
  }
  return {{"schema", "tcpmax.version/1"}, {"version", TCPMAX_VERSION},
          {"commit", TCPMAX_COMMIT},      {"package_version", TCPMAX_PACKAGE_VERSION},
          {"compiler", Compiler()},       {"build_type", TCPMAX_BUILD_TYPE},
          {"features", features}};
}

std::string VersionText() {
  std::string out = fmt::format("tcpmax {}\n", TCPMAX_VERSION);
  out += fmt::format("  commit    {}\n", Commit());
  if (std::string_view(TCPMAX_PACKAGE_VERSION).size() > 0) {
    out += fmt::format("  package   {}\n", TCPMAX_PACKAGE_VERSION);
  }
  out += fmt::format("  compiler  {} ({} build)\n", Compiler(), TCPMAX_BUILD_TYPE);
  for (const Feature& f : kFeatures) {
    out += fmt::format("  {:<9} {}\n", f.name, f.what.empty() ? "not built" : fmt::format("built ({})", f.what));
  }
  return out;
}

}  // namespace

int RunVersion(int argc, char** argv) {
  CLI::App app{"Print the version, the commit it was built from (git describe at build time), the package version "
               "when built as a package, the compiler, and which optional features were compiled in.",
               "version"};
  ConfigureApp(app);
  bool json = false;
  app.add_flag("--json", json, "print it as JSON (schema tcpmax.version/1)");
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  if (json) fmt::print("{}\n", VersionJson().dump(2));
  else fmt::print("{}", VersionText());
  return kExitOk;
}

}  // namespace tcpmax::cli

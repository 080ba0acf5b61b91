#include "probe/server_config.h"

#include <fmt/format.h>

#include "sys/reader.h"

namespace tcpmax::probe {
namespace {

// The value of `name` (the first word after it), scanning directive by
// directive and skipping comments.
std::string Directive(std::string_view text, std::string_view name) {
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find_first_of(";{}\n", at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view stmt = text.substr(at, end - at);
    if (size_t hash = stmt.find('#'); hash != std::string_view::npos) stmt = stmt.substr(0, hash);
    size_t b = stmt.find_first_not_of(" \t\r");
    if (b != std::string_view::npos) {
      stmt = stmt.substr(b);
      if (stmt.size() > name.size() && stmt.substr(0, name.size()) == name &&
          (stmt[name.size()] == ' ' || stmt[name.size()] == '\t')) {
        std::string_view v = stmt.substr(name.size());
        size_t value = v.find_first_not_of(" \t\r");
        if (value == std::string_view::npos) return "";  // a directive with no value
        v = v.substr(value);
        return std::string(v.substr(0, v.find_first_of(" \t\r")));
      }
    }
    at = end + 1;
  }
  return "";
}

std::string NginxConfigPath(std::string_view cmdline) {
  size_t c = cmdline.find(" -c ");
  if (c == std::string_view::npos) return "/etc/nginx/nginx.conf";
  std::string_view rest = cmdline.substr(c + 4);
  rest = rest.substr(rest.find_first_not_of(' '));
  return std::string(rest.substr(0, rest.find(' ')));
}

}  // namespace

ServerKind ParseNginxConfig(std::string_view text) {
  ServerKind k;
  k.name = "nginx";
  for (std::string_view d : {"worker_processes", "worker_connections", "worker_rlimit_nofile"}) {
    std::string v = Directive(text, d);
    if (!v.empty()) k.settings[std::string(d)] = v;
  }
  // nginx's compiled-in defaults where the file is silent.
  k.settings.try_emplace("worker_processes", "1");
  k.settings.try_emplace("worker_connections", "512");
  if (text.find("include") != std::string_view::npos) {
    k.note = "include directives are not followed; settings in included files are not seen";
  }
  return k;
}

ServerKind RecognizeServer(std::string_view comm, std::string_view cmdline, std::string_view cgroup_path) {
  ServerKind k;
  if (comm == "nginx" || cmdline.rfind("nginx", 0) == 0) {
    std::string path = NginxConfigPath(cmdline);
    auto text = sys::ReadWholeFile(path);
    if (text) {
      k = ParseNginxConfig(*text);
      k.config = path;
    } else {
      k.name = "nginx";
      k.note = fmt::format("could not read {}: {}", path, text.error().ToString());
    }
    return k;
  }
  std::string_view cg = cgroup_path;
  size_t slash = cg.rfind('/');
  std::string_view unit = slash == std::string_view::npos ? cg : cg.substr(slash + 1);
  if (unit.size() > 8 && unit.substr(unit.size() - 8) == ".service") {
    k.name = "systemd unit";
    k.settings["unit"] = std::string(unit);
  }
  return k;
}

}  // namespace tcpmax::probe

// tcpmax limits: read every limit of this box (or of a recorded snapshot),
// compute the inbound and outbound ceilings, name the binding limit, its
// remedy and the next limit. Nothing on the system is changed.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/units.h"
#include "limits/ceiling.h"
#include "limits/render.h"
#include "limits/snapshot.h"
#include "sys/snapshot_dir.h"

namespace tcpmax::cli {
namespace {

constexpr std::string_view kName = "limits";

struct Options {
  std::string snapshot_dir;
  std::string record_dir;
  bool json = false;
  bool explain = false;
  std::vector<std::string> settings;
  std::string listen_ports = "1", listen_ips = "1", processes = "1", destinations = "1", source_ips = "1";
  std::string bind_no_port = "on";
  std::string nat, nat_ips = "1", nat_vm_ports = "0";
  std::string app_bytes = "0", queued_bytes = "0", userland_bytes = "256";
  bool ipv6 = false, no_epoll = false, loopback = false, thread_per_connection = false;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--snapshot", o.snapshot_dir, "replay a recorded snapshot directory instead of this box")->type_name("DIR");
  app.add_option("--record", o.record_dir, "also save this box's readings to DIR (for a bug report or a test)")->type_name("DIR");
  app.add_flag("--json", o.json, "print the result as JSON (schema tcpmax.limits/1, docs/limits-json.md)");
  app.add_flag("--explain", o.explain, "print the narrative answer with every limit's arithmetic");
  app.add_option("--set", o.settings, "what if: override a reading, e.g. --set fs.file-max=10M (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--listen-ports", o.listen_ports, "inbound: ports listened on")->type_name("N");
  app.add_option("--listen-ips", o.listen_ips, "inbound: addresses listened on")->type_name("N");
  app.add_option("--processes", o.processes, "processes sharing the connections")->type_name("N");
  app.add_option("--destinations", o.destinations, "outbound: distinct destination ip:port")->type_name("N");
  app.add_option("--source-ips", o.source_ips, "outbound: local source addresses used")->type_name("N");
  app.add_option("--bind-no-port", o.bind_no_port, "outbound: IP_BIND_ADDRESS_NO_PORT when binding (on|off)")->type_name("on|off");
  app.add_option("--nat", o.nat, "outbound through a cloud NAT: aws, gcp or azure")->type_name("aws|gcp|azure");
  app.add_option("--nat-ips", o.nat_ips, "NAT public IPs")->type_name("N");
  app.add_option("--nat-vm-ports", o.nat_vm_ports, "ports per VM (gcp min_ports_per_vm; 0 = default)")->type_name("N");
  app.add_option("--app-bytes", o.app_bytes, "user-space memory the application keeps per connection")->type_name("SIZE");
  app.add_option("--queued-bytes", o.queued_bytes, "data waiting in socket buffers per connection")->type_name("SIZE");
  app.add_option("--userland-bytes", o.userland_bytes, "state per connection of a user-space TCP stack")->type_name("SIZE");
  app.add_flag("--ipv6", o.ipv6, "IPv6 sockets (TCPv6 slab objects)");
  app.add_flag("--no-epoll", o.no_epoll, "the program does not use epoll (no eventpoll_epi per socket)");
  app.add_flag("--loopback", o.loopback, "both ends on this box (as tcpmax probe runs): box costs count twice");
  app.add_flag("--thread-per-connection", o.thread_per_connection, "one thread per connection: pid limits apply");
}

// Parses a count flag; sets `error` on bad input.
uint64_t Count(const char* flag, const std::string& text, bool allow_zero, std::string& error) {
  auto n = ParseCount(text);
  if (!n) {
    if (error.empty()) error = fmt::format("{}: {}", flag, n.error().context);
    return 1;
  }
  if (!allow_zero && *n == 0) {
    if (error.empty()) error = fmt::format("{} '{}': expected a positive count like 4 or 10k", flag, text);
    return 1;
  }
  return *n;
}

uint64_t Size(const char* flag, const std::string& text, std::string& error) {
  auto n = ParseBytes(text);
  if (!n) {
    if (error.empty()) error = fmt::format("{}: {}", flag, n.error().context);
    return 0;
  }
  return *n;
}

std::optional<std::string> BuildScenario(const Options& o, limits::Scenario& sc) {
  std::string e;
  sc.listen_ports = Count("--listen-ports", o.listen_ports, false, e);
  sc.listen_ips = Count("--listen-ips", o.listen_ips, false, e);
  sc.processes = Count("--processes", o.processes, false, e);
  sc.destinations = Count("--destinations", o.destinations, false, e);
  sc.source_ips = Count("--source-ips", o.source_ips, false, e);
  sc.nat_ips = Count("--nat-ips", o.nat_ips, false, e);
  sc.nat_vm_ports = Count("--nat-vm-ports", o.nat_vm_ports, true, e);
  sc.app_bytes = Size("--app-bytes", o.app_bytes, e);
  sc.queued_bytes = Size("--queued-bytes", o.queued_bytes, e);
  sc.userland_bytes = Size("--userland-bytes", o.userland_bytes, e);
  if (!e.empty()) return e;
  if (sc.userland_bytes == 0) return "--userland-bytes: must be more than 0";
  if (o.bind_no_port != "on" && o.bind_no_port != "off") {
    return fmt::format("--bind-no-port '{}': expected on or off", o.bind_no_port);
  }
  sc.bind_no_port = o.bind_no_port == "on";
  if (!o.nat.empty()) {
    sc.nat = limits::FindNatProfile(o.nat);
    if (!sc.nat) return fmt::format("--nat '{}': expected aws, gcp or azure", o.nat);
  }
  sc.ipv6 = o.ipv6;
  sc.epoll = !o.no_epoll;
  sc.loopback = o.loopback;
  sc.thread_per_connection = o.thread_per_connection;
  return std::nullopt;
}

}  // namespace

int RunLimits(int argc, char** argv) {
  CLI::App app{"tcpmax limits: the ceiling of this box and what binds it", std::string(kName)};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  if (auto code = ParseArgs(app, argc, argv)) return *code;

  limits::Scenario scenario;
  if (auto bad = BuildScenario(o, scenario)) return UsageError(kName, *bad);
  if (!o.snapshot_dir.empty() && !o.record_dir.empty()) {
    return UsageError(kName, "--record saves this box's readings; it cannot be combined with --snapshot");
  }

  std::unique_ptr<sys::Reader> reader;
  if (!o.snapshot_dir.empty()) {
    auto snap = sys::SnapshotReader::Open(o.snapshot_dir);
    if (!snap) return UsageError(kName, "--snapshot: " + snap.error().ToString());
    reader = std::make_unique<sys::SnapshotReader>(std::move(*snap));
  } else {
    reader = std::make_unique<sys::LiveReader>();
  }
  std::optional<sys::RecordingReader> recorder;
  const sys::Reader* source = reader.get();
  if (!o.record_dir.empty()) source = &recorder.emplace(*reader);

  limits::Snapshot snapshot = limits::ReadSnapshot(*source);
  if (recorder) {
    if (auto saved = recorder->Save(o.record_dir); !saved) return RuntimeError(kName, saved.error());
    fmt::print(stderr, "tcpmax limits: recorded {} files and the process readings to {}\n",
               recorder->files_recorded(), o.record_dir);
  }
  for (const std::string& text : o.settings) {
    auto kv = limits::ParseSetting(text);
    if (!kv) return UsageError(kName, kv.error().ToString());
    if (auto applied = limits::ApplySetting(snapshot, kv->first, kv->second); !applied) {
      return UsageError(kName, applied.error().ToString());
    }
  }

  limits::Ceiling ceiling = limits::ComputeCeiling(snapshot, scenario);
  if (o.json) {
    // replace: a cgroup path or a snapshot value that is not UTF-8 must not abort the dump.
    fmt::print("{}\n", limits::ToJson(ceiling).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else if (o.explain) {
    fmt::print("{}", TerminalSafe(limits::RenderExplain(ceiling), true));
  } else {
    fmt::print("{}", TerminalSafe(limits::RenderText(ceiling), true));
  }
  return kExitOk;
}

}  // namespace tcpmax::cli

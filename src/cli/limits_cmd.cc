// tcpmax limits: read every limit of this box (or of a recorded snapshot),
// compute the inbound and outbound ceilings, name the binding limit, its
// remedy and the next limit. Nothing on the system is changed.
// Flags -> Validate -> limits::ComputeCeiling -> report/limits.h.
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "limits/ceiling.h"
#include "limits/nat.h"
#include "limits/snapshot.h"
#include "report/limits.h"
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

// The validated request: what the model is asked, and where the readings come from.
struct Request {
  limits::Scenario scenario;
  std::vector<std::pair<std::string, std::string>> settings;  // --set key=value, checked
  std::unique_ptr<sys::Reader> reader;                        // this box, or the --snapshot opened
  std::string record_dir;
};

void AddFlags(CLI::App& app, Options& o) {
  app.add_option("--snapshot", o.snapshot_dir, "replay a recorded snapshot directory instead of this box")->type_name("DIR");
  app.add_option("--record", o.record_dir, "also save this box's readings to DIR (for a bug report or a test)")->type_name("DIR");
  app.add_flag("--json", o.json, "print the result as JSON (schema tcpmax.limits/2, docs/limits-json.md)");
  app.add_flag("--explain", o.explain, "print the narrative answer with every limit's arithmetic");
  app.add_option("--set", o.settings, "what if: override a reading, e.g. --set fs.file-max=10M (repeatable)")->type_name("KEY=VALUE");
  app.add_option("--listen-ports", o.listen_ports, "inbound: ports listened on")->type_name("N");
  app.add_option("--listen-ips", o.listen_ips, "inbound: addresses listened on")->type_name("N");
  app.add_option("--processes", o.processes, "processes sharing the connections")->type_name("N");
  app.add_option("--destinations", o.destinations, "outbound: distinct destination ip:port")->type_name("N");
  app.add_option("--source-ips", o.source_ips, "outbound: local source addresses used")->type_name("N");
  app.add_option("--bind-no-port", o.bind_no_port, "outbound: IP_BIND_ADDRESS_NO_PORT when binding (on|off)")->check(Values({"on", "off"}));
  app.add_option("--nat", o.nat, "outbound through a cloud NAT: aws, gcp or azure")
      ->check(Values(Names(limits::NatProfiles(), [](const limits::NatProfile& p) { return p.name; })));
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

Result<limits::Scenario> ValidateScenario(const Options& o) {
  limits::Scenario sc;
  for (auto [field, flag, text, zero] : {std::tuple{&sc.listen_ports, "--listen-ports", &o.listen_ports, false},
                                         {&sc.listen_ips, "--listen-ips", &o.listen_ips, false},
                                         {&sc.processes, "--processes", &o.processes, false},
                                         {&sc.destinations, "--destinations", &o.destinations, false},
                                         {&sc.source_ips, "--source-ips", &o.source_ips, false},
                                         {&sc.nat_ips, "--nat-ips", &o.nat_ips, false},
                                         {&sc.nat_vm_ports, "--nat-vm-ports", &o.nat_vm_ports, true}}) {
    auto n = CountFlag(flag, *text, zero);
    if (!n) return tl::unexpected(n.error());
    *field = *n;
  }
  for (auto [field, flag, text] : {std::tuple{&sc.app_bytes, "--app-bytes", &o.app_bytes},
                                   {&sc.queued_bytes, "--queued-bytes", &o.queued_bytes},
                                   {&sc.userland_bytes, "--userland-bytes", &o.userland_bytes}}) {
    auto n = SizeFlag(flag, *text);
    if (!n) return tl::unexpected(n.error());
    *field = *n;
  }
  if (sc.userland_bytes == 0) return PlainError("--userland-bytes: must be more than 0");
  if (o.bind_no_port != "on" && o.bind_no_port != "off") {
    return PlainError(fmt::format("--bind-no-port '{}': expected on or off", o.bind_no_port));
  }
  sc.bind_no_port = o.bind_no_port == "on";
  if (!o.nat.empty() && !(sc.nat = limits::FindNatProfile(o.nat))) {
    return PlainError(fmt::format("--nat '{}': expected aws, gcp or azure", o.nat));
  }
  sc.ipv6 = o.ipv6;
  sc.epoll = !o.no_epoll;
  sc.loopback = o.loopback;
  sc.thread_per_connection = o.thread_per_connection;
  return sc;
}

Result<Request> Validate(const Options& o) {
  auto scenario = ValidateScenario(o);
  if (!scenario) return tl::unexpected(scenario.error());
  if (!o.snapshot_dir.empty() && !o.record_dir.empty()) {
    return PlainError("--record saves this box's readings; it cannot be combined with --snapshot");
  }
  Request r{*scenario, {}, std::make_unique<sys::LiveReader>(), o.record_dir};
  if (!o.snapshot_dir.empty()) {
    auto snap = sys::SnapshotReader::Open(o.snapshot_dir);
    if (!snap) return PlainError("--snapshot: " + snap.error().ToString());
    r.reader = std::make_unique<sys::SnapshotReader>(std::move(*snap));
  }
  limits::Snapshot scratch;  // a --set is checked here, so a typo stops before anything is read
  for (const std::string& text : o.settings) {
    auto kv = limits::ParseSetting(text);
    if (!kv) return tl::unexpected(kv.error());
    if (auto ok = limits::ApplySetting(scratch, kv->first, kv->second); !ok) return tl::unexpected(ok.error());
    r.settings.push_back(std::move(*kv));
  }
  return r;
}

// Reads the box (or the snapshot), records it when asked, applies --set and
// computes the ceiling.
Result<limits::Ceiling> Compute(const Request& r) {
  std::optional<sys::RecordingReader> recorder;
  const sys::Reader* source = r.record_dir.empty() ? r.reader.get() : &recorder.emplace(*r.reader);
  limits::Snapshot snapshot = limits::ReadSnapshot(*source);
  if (recorder) {
    if (auto saved = recorder->Save(r.record_dir); !saved) return tl::unexpected(saved.error());
    fmt::print(stderr, "tcpmax limits: recorded {} files and the process readings to {}\n",
               recorder->files_recorded(), r.record_dir);
  }
  for (const auto& [key, value] : r.settings) {
    if (auto ok = limits::ApplySetting(snapshot, key, value); !ok) return tl::unexpected(ok.error());
  }
  return limits::ComputeCeiling(snapshot, r.scenario);
}

}  // namespace

int RunLimits(int argc, char** argv) {
  CLI::App app{"tcpmax limits: the ceiling of this box and what binds it", std::string(kName)};
  ConfigureApp(app);
  Options o;
  AddFlags(app, o);
  if (auto code = ParseArgs(app, argc, argv)) return *code;
  auto request = Validate(o);
  if (!request) return UsageError(kName, request.error().ToString());
  auto ceiling = Compute(*request);
  if (!ceiling) return RuntimeError(kName, ceiling.error());
  // replace: a cgroup path or a snapshot value that is not UTF-8 must not abort the dump.
  if (o.json) fmt::print("{}\n", report::LimitsJson(*ceiling).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  else if (o.explain) fmt::print("{}", TerminalSafe(report::LimitsExplain(*ceiling), true));
  else fmt::print("{}", TerminalSafe(report::LimitsText(*ceiling), true));
  return kExitOk;
}

}  // namespace tcpmax::cli

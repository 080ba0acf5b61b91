#include "probe/verify.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/units.h"
#include "diag/count.h"

namespace tcpmax::probe {
namespace {

bool Close(uint64_t a, uint64_t b) {
  uint64_t diff = a > b ? a - b : b - a;
  return double(diff) <= kVerifyTolerance * double(std::max<uint64_t>({a, b, 1}));
}

diag::Query EndQuery(const Plan& plan, bool server_end) {
  diag::Query q;
  q.states = 1u << diag::kEstablished;
  q.ipv6 = false;
  PortRange ports{plan.first_port, static_cast<uint16_t>(plan.first_port + plan.ports - 1)};
  if (server_end) {
    q.lports = {ports};
    q.src = {Cidr{plan.server_ip, 32}};
  } else {
    q.rports = {ports};
    q.dst = {Cidr{plan.server_ip, 32}};
    q.src = {plan.source_range};
  }
  return q;
}

}  // namespace

Verification Judge(Verification v) {
  v.ok = false;
  if (!v.count_error.empty()) {
    v.problem = "the kernel count failed: " + v.count_error;
  } else if (v.interrupted) {
    v.problem = "the kernel's socket dump stayed inconsistent (NLM_F_DUMP_INTR) after every retry";
  } else if (v.client_counted > v.server_counted && !Close(v.client_counted, v.server_counted)) {
    v.problem = fmt::format("half-open: {} client ends are established but the kernel has only {} server ends: {} "
                            "connections exist on the client side only",
                            FormatCount(v.client_counted), FormatCount(v.server_counted),
                            FormatCount(v.client_counted - v.server_counted));
  } else if (v.server_counted > v.serve_held && !Close(v.server_counted, v.serve_held)) {
    v.problem = fmt::format("accept queue: the kernel has {} server ends established but the serve shards accepted "
                            "{}: {} connections wait in the listen queues, never accepted",
                            FormatCount(v.server_counted), FormatCount(v.serve_held),
                            FormatCount(v.server_counted - v.serve_held));
  } else if (!Close(v.server_counted, v.serve_held)) {
    v.problem = fmt::format("server side: the kernel counts {} established on the server ports, the serve shards "
                            "hold {}",
                            FormatCount(v.server_counted), FormatCount(v.serve_held));
  } else if (!Close(v.client_counted, v.load_held)) {
    v.problem = fmt::format("client side: the kernel counts {} established towards the server ports, the load "
                            "shards hold {}",
                            FormatCount(v.client_counted), FormatCount(v.load_held));
  } else {
    v.ok = true;
  }
  return v;
}

Verification Verify(const Plan& plan, uint64_t serve_held, uint64_t load_held) {
  Verification v;
  v.serve_held = serve_held;
  v.load_held = load_held;
  auto server = diag::Count(EndQuery(plan, true));
  auto client = diag::Count(EndQuery(plan, false));
  if (!server || !client) {
    v.count_error = (!server ? server.error() : client.error()).ToString();
    return Judge(v);
  }
  v.server_counted = server->total;
  v.client_counted = client->total;
  v.interrupted = server->interrupted || client->interrupted;
  return Judge(v);
}

}  // namespace tcpmax::probe

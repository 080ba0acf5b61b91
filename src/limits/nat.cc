#include "limits/nat.h"

#include <algorithm>

namespace tcpmax::limits {
namespace {

constexpr NatProfile kProfiles[] = {
    {"aws", "AWS NAT gateway", 55000, 0, "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html",
     "add secondary IPs to the NAT gateway (55,000 more per IP, up to 8) or spread over more destinations"},
    {"gcp", "Google Cloud NAT", 64512, 64, "https://cloud.google.com/nat/docs/ports-and-addresses",
     "gcloud compute routers nats update NAT --router=ROUTER --min-ports-per-vm=N (or dynamic port allocation)"},
    {"azure", "Azure NAT Gateway", 64512, 0, "https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource",
     "attach more public IPs or a public IP prefix to the NAT gateway (64,512 ports each, up to 16)"},
};

}  // namespace

std::span<const NatProfile> NatProfiles() { return kProfiles; }

std::optional<NatProfile> FindNatProfile(std::string_view name) {
  for (const NatProfile& p : kProfiles) {
    if (p.name == name) return p;
  }
  return std::nullopt;
}

uint64_t NatPerDestination(const NatProfile& p, uint64_t nat_ips, uint64_t vm_ports) {
  uint64_t gateway = p.ports_per_ip * std::max<uint64_t>(nat_ips, 1);
  uint64_t vm = vm_ports != 0 ? vm_ports : p.default_vm_ports;
  return vm == 0 ? gateway : std::min(vm, gateway);
}

}  // namespace tcpmax::limits

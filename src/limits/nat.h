// Cloud NAT profiles: the published caps on outbound connections through a
// provider's NAT, per unique destination (ip, port, protocol).
//
//   aws    NAT gateway: 55,000 simultaneous connections to each unique
//          destination, per NAT gateway IP address (up to 8 IPs per gateway).
//          https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-basics.html
//   gcp    Cloud NAT: 64,512 source ports per NAT IP (65,536 minus 1,024
//          well-known); a VM gets min_ports_per_vm ports (default 64) and may
//          use each once per destination.
//          https://cloud.google.com/nat/docs/ports-and-addresses
//   azure  NAT Gateway: 64,512 SNAT ports per public IP (up to 16 IPs), each
//          reusable across destinations; Load Balancer outbound rules give
//          1,024 ports per VM by default for pools of up to 50 VMs.
//          https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource
//          https://learn.microsoft.com/azure/load-balancer/load-balancer-outbound-connections
// Thread-safety: constant data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tcpmax::limits {

struct NatProfile {
  std::string_view name;            // "aws"
  std::string_view product;         // "AWS NAT gateway"
  uint64_t ports_per_ip = 0;        // per NAT IP, per destination
  uint64_t default_vm_ports = 0;    // per VM per destination by default (0: no per-VM cap)
  std::string_view source;          // documentation URL
  std::string_view remedy;          // how to get more
};

// Every profile, in the order help lists them.
std::span<const NatProfile> NatProfiles();

// The profile named `name` ("aws", "gcp", "azure"), or nullopt.
std::optional<NatProfile> FindNatProfile(std::string_view name);

// Connections to ONE destination ip:port through the NAT: min(vm ports,
// ports_per_ip x nat_ips). `vm_ports` 0 uses the profile's default.
uint64_t NatPerDestination(const NatProfile& p, uint64_t nat_ips, uint64_t vm_ports);

}  // namespace tcpmax::limits

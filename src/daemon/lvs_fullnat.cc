#include "daemon/lvs_fullnat.h"

#include <fmt/format.h>

#include <set>

namespace vigil::daemon {
namespace {

const char* l4_keyword(datapath::Protocol protocol) {
  switch (protocol) {
    case datapath::Protocol::kTcp:
      return "tcp";
    case datapath::Protocol::kUdp:
      return "udp";
    case datapath::Protocol::kSctp:
      return "sctp";
  }
  return "tcp";
}

// One masquerade rule per real server of a service: the packet IPVS NAT forwarded has the real
// server as destination (and, for a fwmark service, still carries the mark).
std::string rule(const datapath::ServiceKey& service, const datapath::DestinationKey& real) {
  const char* daddr = real.address.family() == AddressFamily::kIpv4 ? "ip daddr" : "ip6 daddr";
  if (service.is_fwmark()) {
    return fmt::format("{} {} meta mark {} masquerade", daddr, real.address.to_string(),
                       service.fwmark);
  }
  return fmt::format("{} {} {} dport {} masquerade", daddr, real.address.to_string(),
                     l4_keyword(service.protocol), real.port);
}

void table(std::string& out, const char* family, const std::set<std::string>& rules) {
  // Creating first makes the delete valid when the table does not exist yet.
  out += fmt::format("table {} {}\ndelete table {} {}\n", family, kFullNatTable, family,
                     kFullNatTable);
  if (rules.empty()) return;
  out += fmt::format("table {} {} {{\n", family, kFullNatTable);
  out += "  chain postrouting {\n";
  out += "    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto& r : rules)
    out += "    " + r + "\n";
  out += "  }\n}\n";
}

}  // namespace

std::string fullnat_ruleset(const std::vector<FullNatService>& services) {
  std::set<std::string> ipv4;  // a set: one rule for a real server in several services
  std::set<std::string> ipv6;
  for (const auto& s : services) {
    for (const auto& real : s.destinations) {
      (real.address.family() == AddressFamily::kIpv4 ? ipv4 : ipv6).insert(rule(s.service, real));
    }
  }
  std::string out;
  table(out, "ip", ipv4);
  table(out, "ip6", ipv6);
  return out;
}

}  // namespace vigil::daemon

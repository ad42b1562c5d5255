#include "lvs/fullnat.h"

#include <fmt/format.h>

#include <set>
#include <string_view>
#include <vector>

namespace vigil::lvs {
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
    return fmt::format("{} {} meta mark 0x{:08x} masquerade", daddr, real.address.to_string(),
                       service.fwmark);
  }
  return fmt::format("{} {} {} dport {} masquerade", daddr, real.address.to_string(),
                     l4_keyword(service.protocol), real.port);
}

// The table's definition, one line each, without indentation.
std::vector<std::string> table_lines(const std::vector<FullNatService>& services) {
  std::set<std::string> rules;  // a set: one rule for a real server in several services
  for (const auto& s : services) {
    for (const auto& real : s.destinations)
      rules.insert(rule(s.service, real));
  }
  std::vector<std::string> lines;
  lines.push_back(fmt::format("table {} {} {{", kFullNatFamily, kFullNatTable));
  lines.emplace_back("chain postrouting {");
  lines.emplace_back("type nat hook postrouting priority srcnat; policy accept;");
  lines.insert(lines.end(), rules.begin(), rules.end());
  lines.emplace_back("}");
  lines.emplace_back("}");
  return lines;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string fullnat_ruleset(const std::vector<FullNatService>& services) {
  // Creating first makes the delete valid when the table does not exist yet.
  std::string out =
      fmt::format("table {0} {1}\ndelete table {0} {1}\n", kFullNatFamily, kFullNatTable);
  bool any = false;
  for (const auto& s : services)
    any = any || !s.destinations.empty();
  if (!any) return out;
  const auto lines = table_lines(services);
  int depth = 0;
  for (const auto& line : lines) {
    if (line == "}") --depth;
    out.append(static_cast<size_t>(depth) * 2, ' ');
    out += line;
    out += '\n';
    if (line.ends_with("{")) ++depth;
  }
  return out;
}

bool fullnat_table_matches(const std::string& listing,
                           const std::vector<FullNatService>& services) {
  const auto want = table_lines(services);
  size_t next = 0;
  std::string_view rest = listing;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (const auto handle = line.find(" # handle "); handle != std::string_view::npos) {
      line = line.substr(0, handle);
    }
    line = trim(line);
    if (line.empty()) continue;
    if (next == want.size() || line != want[next]) return false;
    ++next;
  }
  return next == want.size();
}

}  // namespace vigil::lvs

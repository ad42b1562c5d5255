// vigil's FULLNAT: a `lvs_method FULLNAT` service is programmed as IPVS NAT, and nftables
// source-NATs (masquerades) what IPVS forwards to its real servers, so they see the director as
// the client and need no route back through it. IPVS must keep conntrack entries for that
// (net.ipv4.vs.conntrack=1).
//
// Pure: the ruleset text for `nft -f -`. It replaces the tables vigil_fullnat (ip and ip6) as
// one transaction (create, delete, then define: works whether or not they exist), and with no
// FULLNAT service it only deletes them.
#pragma once

#include <string>
#include <vector>

#include "daemon/lvs_desired.h"

namespace vigil::daemon {

inline constexpr const char* kFullNatTable = "vigil_fullnat";

std::string fullnat_ruleset(const std::vector<FullNatService>& services);

}  // namespace vigil::daemon

// vigil's FULLNAT: a `lvs_method FULLNAT` service is programmed as IPVS NAT, and nftables
// source-NATs (masquerades) what IPVS forwards to its real servers, so they see the director as
// the client and need no route back through it. IPVS must keep conntrack entries for that
// (net.ipv4.vs.conntrack=1).
//
// Pure: the ruleset text for `nft -f -`. It replaces the table `inet vigil_fullnat` (one table
// for IPv4 and IPv6, so one `nft list` reads it back) as one transaction (create, delete, then
// define: works whether or not it exists), and with no FULLNAT service it only deletes it.
#pragma once

#include <string>
#include <vector>

#include "lvs/desired.h"

namespace vigil::lvs {

inline constexpr const char* kFullNatTable = "vigil_fullnat";

inline constexpr const char* kFullNatFamily = "inet";

std::string fullnat_ruleset(const std::vector<FullNatService>& services);

// True when `listing` (`nft list table inet vigil_fullnat`) holds exactly the table
// fullnat_ruleset() defines for `services`: same chain, same rules, in order. Indentation and
// handle comments do not count. Rules are rendered in nft's own listing form (a mark in hex) so
// that nft 1.0's listing of vigil's ruleset matches.
bool fullnat_table_matches(const std::string& listing, const std::vector<FullNatService>& services);

}  // namespace vigil::lvs

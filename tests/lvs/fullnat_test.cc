#include "lvs/fullnat.h"

#include <gtest/gtest.h>

namespace vigil::lvs {
namespace {

using datapath::DestinationKey;
using datapath::ServiceKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

constexpr const char* kDeleteOnly = "table inet vigil_fullnat\ndelete table inet vigil_fullnat\n";

TEST(FullNatRuleset, NoServiceOnlyDeletesTheTable) {
  EXPECT_EQ(fullnat_ruleset({}), kDeleteOnly);
}

const std::vector<FullNatService> kServices = {
    {ServiceKey::tcp(ip("192.0.2.80"), 80), {{ip("10.9.0.1"), 8080}, {ip("10.9.0.2"), 8080}}},
    {ServiceKey::udp(ip("192.0.2.53"), 53), {{ip("10.9.0.1"), 53}}},
    {ServiceKey::sctp(ip("2001:db8::1"), 9), {{ip("2001:db8:1::5"), 9}}},
    {ServiceKey::firewall_mark(17, AddressFamily::kIpv4), {{ip("10.9.0.3"), 0}}},
    // The same real server in a second service: one rule.
    {ServiceKey::tcp(ip("192.0.2.81"), 80), {{ip("10.9.0.1"), 8080}}},
};

TEST(FullNatRuleset, MasqueradesEachRealServerOfEachFamilyInOneInetTable) {
  EXPECT_EQ(fullnat_ruleset(kServices),
            "table inet vigil_fullnat\n"
            "delete table inet vigil_fullnat\n"
            "table inet vigil_fullnat {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            "    ip daddr 10.9.0.1 tcp dport 8080 masquerade\n"
            "    ip daddr 10.9.0.1 udp dport 53 masquerade\n"
            "    ip daddr 10.9.0.2 tcp dport 8080 masquerade\n"
            "    ip daddr 10.9.0.3 meta mark 0x00000011 masquerade\n"
            "    ip6 daddr 2001:db8:1::5 sctp dport 9 masquerade\n"
            "  }\n"
            "}\n");
}

// What `nft list table inet vigil_fullnat` (nftables 1.0.6) prints after vigil's ruleset.
constexpr const char* kNftListing =
    "table inet vigil_fullnat {\n"
    "\tchain postrouting {\n"
    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
    "\t\tip daddr 10.9.0.1 tcp dport 8080 masquerade\n"
    "\t\tip daddr 10.9.0.1 udp dport 53 masquerade\n"
    "\t\tip daddr 10.9.0.2 tcp dport 8080 masquerade\n"
    "\t\tip daddr 10.9.0.3 meta mark 0x00000011 masquerade\n"
    "\t\tip6 daddr 2001:db8:1::5 sctp dport 9 masquerade\n"
    "\t}\n"
    "}\n";

TEST(FullNatTableMatches, NftsListingOfTheRulesetMatches) {
  EXPECT_TRUE(fullnat_table_matches(kNftListing, kServices));
}

TEST(FullNatTableMatches, HandleCommentsAndIndentationDoNotCount) {
  std::string with_handles = kNftListing;
  auto at = with_handles.find("masquerade\n");
  with_handles.insert(at + std::string("masquerade").size(), " # handle 4");
  EXPECT_TRUE(fullnat_table_matches(with_handles, kServices));
  EXPECT_TRUE(fullnat_table_matches(
      fullnat_ruleset(kServices).substr(std::string(kDeleteOnly).size()), kServices));
}

TEST(FullNatTableMatches, AnyChangeIsAMismatch) {
  const std::string listing = kNftListing;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string edited = listing;
    edited.replace(edited.find(from), from.size(), to);
    return edited;
  };
  // A rule deleted, edited, added; the chain's hook changed; the table empty.
  EXPECT_FALSE(fullnat_table_matches(
      replace("\t\tip daddr 10.9.0.2 tcp dport 8080 masquerade\n", ""), kServices));
  EXPECT_FALSE(fullnat_table_matches(replace("dport 53", "dport 54"), kServices));
  EXPECT_FALSE(fullnat_table_matches(replace("\t}\n", "\t\tip daddr 10.9.9.9 masquerade\n\t}\n"),
                                     kServices));
  EXPECT_FALSE(fullnat_table_matches(replace("priority srcnat", "priority dstnat"), kServices));
  EXPECT_FALSE(fullnat_table_matches("table inet vigil_fullnat {\n}\n", kServices));
  EXPECT_FALSE(fullnat_table_matches("", kServices));
  // Services changed: the old listing no longer matches.
  auto fewer = kServices;
  fewer.pop_back();
  fewer.pop_back();
  EXPECT_FALSE(fullnat_table_matches(listing, fewer));
}

}  // namespace
}  // namespace vigil::lvs

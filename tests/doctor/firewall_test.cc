// The VRRP firewall check (firewall.h, firewall_rules.cc): rulesets captured from nft on a real
// host (tests/data/doctor/firewall: CASE.rules applied with nft -f, captured by `capture`) judged
// for a multicast, a unicast and an IPv6 instance; then the judge's rules one by one on small
// hand-written rulesets.
#include "doctor/firewall.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/parser.h"
#include "doctor/doctor.h"

namespace vigil::doctor {
namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(VIGIL_TEST_DATA_DIR) + "/doctor/firewall/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The site every ruleset is judged for; integration/netns/doctor_firewall.py applies the
// same rulesets to it on a real kernel.
const std::string& site() {
  static const std::string text = read("site.conf");
  return text;
}

std::vector<Finding> judge_case(const std::string& name, bool with_listing = true) {
  auto parsed = config::parse_text("site.conf", site());
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  Facts facts;
  facts.firewall = FirewallRuleset{.json = read(name + ".json"),
                                   .listing = with_listing ? read(name + ".nft") : ""};
  return diagnose_firewall(parsed->config, parsed->files, facts);
}

struct CaseRow {
  const char* ruleset;  // tests/data/doctor/firewall/NAME.{json,nft}
  const char* instance;
  Level level;
  std::string found;  // exactly
  std::string fix;    // exactly
};

void PrintTo(const CaseRow& row, std::ostream* out) {
  *out << row.ruleset << " " << row.instance;
}

class CapturedRulesetTest : public testing::TestWithParam<CaseRow> {};

TEST_P(CapturedRulesetTest, Judges) {
  const CaseRow& row = GetParam();
  const auto findings = judge_case(row.ruleset);
  ASSERT_EQ(findings.size(), 3u);
  const Finding* finding = nullptr;
  for (const auto& f : findings) {
    EXPECT_EQ(f.check, "vrrp.firewall");
    if (f.subject == std::string("vrrp_instance ") + row.instance) finding = &f;
  }
  ASSERT_NE(finding, nullptr);
  EXPECT_EQ(finding->level, row.level);
  EXPECT_EQ(finding->found, row.found);
  EXPECT_EQ(finding->fix, row.fix);
  EXPECT_THAT(finding->location, testing::StartsWith("site.conf:"));
}

constexpr const char* kMulticastFix =
    R"(nft insert rule inet filter input iifname "eth0" ip daddr 224.0.0.18 meta l4proto vrrp accept)";
constexpr const char* kUnicastFix =
    R"(nft insert rule inet filter input iifname "eth0" ip saddr 192.0.2.2 meta l4proto vrrp accept)";
constexpr const char* kIpv6Fix =
    R"(nft insert rule inet filter input iifname "eth0" ip6 daddr ff02::12 meta l4proto vrrp accept)";

INSTANTIATE_TEST_SUITE_P(
    Firewall, CapturedRulesetTest,
    testing::Values(
        CaseRow{"empty", "VI_1", Level::kOk,
                "adverts to 224.0.0.18 on eth0: no chain on their way in", ""},
        // ip protocol vrrp drop
        CaseRow{
            "vrrp-drop", "VI_1", Level::kFail,
            R"(adverts to 224.0.0.18 on eth0 are dropped by inet filter input rule handle 3 "ip protocol vrrp drop")",
            kMulticastFix},
        CaseRow{
            "vrrp-drop", "VI_2", Level::kFail,
            R"(adverts from 192.0.2.2 on eth0 are dropped by inet filter input rule handle 3 "ip protocol vrrp drop")",
            kUnicastFix},
        CaseRow{
            "vrrp-drop", "VI_6", Level::kOk,
            "adverts to ff02::12 on eth0 are accepted by the policy accept of inet filter input",
            ""},
        // an input policy of drop with no VRRP accept
        CaseRow{"policy-drop", "VI_1", Level::kFail,
                "adverts to 224.0.0.18 on eth0 are dropped by the policy drop of inet filter input",
                kMulticastFix},
        CaseRow{"policy-drop", "VI_6", Level::kFail,
                "adverts to ff02::12 on eth0 are dropped by the policy drop of inet filter input",
                kIpv6Fix},
        CaseRow{
            "policy-drop-vrrp-accept", "VI_2", Level::kOk,
            R"(adverts from 192.0.2.2 on eth0 are accepted by inet filter from_lan rule handle 9 "meta l4proto vrrp counter accept" (reached from inet filter input))",
            ""},
        // ip daddr 224.0.0.0/4 drop
        CaseRow{
            "multicast-drop", "VI_1", Level::kFail,
            R"(adverts to 224.0.0.18 on eth0 are dropped by inet filter input rule handle 2 "ip daddr 224.0.0.0/4 drop")",
            kMulticastFix},
        CaseRow{"multicast-drop", "VI_2", Level::kOk,
                "adverts from 192.0.2.2 on eth0 are accepted by the policy accept of inet filter "
                "input",
                ""},
        // iptables-nft -A INPUT -p 112 -j DROP
        CaseRow{
            "iptables", "VI_1", Level::kFail,
            R"(adverts to 224.0.0.18 on eth0 are dropped by ip filter INPUT rule handle 3 "meta l4proto vrrp counter drop")",
            "iptables -t filter -I INPUT -i eth0 -d 224.0.0.18 -p vrrp -j ACCEPT"},
        CaseRow{
            "iptables", "VI_2", Level::kFail,
            R"(adverts from 192.0.2.2 on eth0 are dropped by ip filter INPUT rule handle 3 "meta l4proto vrrp counter drop")",
            "iptables -t filter -I INPUT -i eth0 -s 192.0.2.2 -p vrrp -j ACCEPT"},
        CaseRow{"iptables", "VI_6", Level::kOk,
                "adverts to ff02::12 on eth0: no chain on their way in", ""},
        // a blocked unicast peer: accepted only from a set without it
        CaseRow{
            "peer-blocked", "VI_2", Level::kFail,
            "adverts from 192.0.2.2 on eth0 are dropped by the policy drop of inet filter input",
            kUnicastFix},
        // ... which a multicast instance cannot know: any router may send
        CaseRow{
            "peer-blocked", "VI_1", Level::kWarn,
            R"(adverts to 224.0.0.18 on eth0: cannot judge inet filter input rule handle 4 "ip saddr @vrrp_peers ip protocol vrrp accept" (it matches on ip saddr, and any router on the link may send adverts))",
            std::string("nft -a list ruleset (the rules named); to be sure, accept VRRP "
                        "first: ") +
                kMulticastFix},
        CaseRow{
            "peer-accepted", "VI_2", Level::kOk,
            R"(adverts from 192.0.2.2 on eth0 are accepted by inet filter input rule handle 3 "ip saddr { 192.0.2.2, 192.0.2.3 } ip protocol vrrp accept")",
            ""},
        CaseRow{
            "peer-accepted", "VI_6", Level::kFail,
            R"(adverts to ff02::12 on eth0 are dropped by inet filter input rule handle 4 "iifname "eth*" drop")",
            kIpv6Fix},
        // fib: not evaluated, and it decides
        CaseRow{
            "unjudged", "VI_2", Level::kWarn,
            R"(adverts from 192.0.2.2 on eth0: cannot judge inet filter input rule handle 2 "fib saddr . iif oif missing drop" (it matches on fib, which doctor does not evaluate))",
            std::string("nft -a list ruleset (the rules named); to be sure, accept VRRP "
                        "first: ") +
                kUnicastFix},
        // ... and where it does not decide (every way drops, or every way accepts)
        CaseRow{"unjudged", "VI_6", Level::kFail,
                "adverts to ff02::12 on eth0 are dropped by the policy drop of inet filter input",
                kIpv6Fix},
        CaseRow{"unjudged-harmless", "VI_1", Level::kOk,
                "adverts to 224.0.0.18 on eth0 are accepted by the policy accept of inet filter "
                "input",
                ""},
        // an accept in one base chain, a reject in the next
        CaseRow{
            "two-chains", "VI_1", Level::kFail,
            R"(adverts to 224.0.0.18 on eth0 are dropped by ip late input rule handle 2 "meta l4proto vrrp reject")",
            R"(nft insert rule ip late input iifname "eth0" ip daddr 224.0.0.18 meta l4proto vrrp accept)"},
        CaseRow{"two-chains", "VI_6", Level::kOk,
                "adverts to ff02::12 on eth0 are accepted by the policy accept of inet early input",
                ""},
        CaseRow{
            "prerouting-drop", "VI_2", Level::kFail,
            R"(adverts from 192.0.2.2 on eth0 are dropped by ip raw lan rule handle 4 "ip protocol vrrp drop" (reached from ip raw prerouting))",
            R"(nft insert rule ip raw prerouting iifname "eth0" ip saddr 192.0.2.2 meta l4proto vrrp accept)"},
        CaseRow{
            "ingress-drop", "VI_1", Level::kFail,
            R"(adverts to 224.0.0.18 on eth0 are dropped by netdev edge ingress rule handle 2 "ip protocol vrrp drop")",
            R"(nft insert rule netdev edge ingress iifname "eth0" ip daddr 224.0.0.18 meta l4proto vrrp accept)"},
        CaseRow{"other-interface", "VI_1", Level::kOk,
                "adverts to 224.0.0.18 on eth0 are accepted by the policy accept of inet filter "
                "input",
                ""},
        CaseRow{
            "other-interface", "VI_6", Level::kFail,
            R"(adverts to ff02::12 on eth0 are dropped by inet filter input rule handle 3 "ip6 nexthdr vrrp drop")",
            kIpv6Fix},
        CaseRow{
            "ipv6-drop", "VI_6", Level::kFail,
            R"(adverts to ff02::12 on eth0 are dropped by ip6 filter6 input rule handle 2 "ip6 daddr ff02::12 drop")",
            R"(nft insert rule ip6 filter6 input iifname "eth0" ip6 daddr ff02::12 meta l4proto vrrp accept)"}),
    [](const testing::TestParamInfo<CaseRow>& info) {
      std::string name = std::string(info.param.ruleset) + "_" + info.param.instance;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// nft 1.0.6 leaves an ingress chain's device out of its JSON: without the listing the chain may
// or may not be eth0's, and it drops VRRP, so doctor cannot judge.
TEST(FirewallTest, IngressDeviceFromTheListingOnly) {
  const auto findings = judge_case("ingress-drop", /*with_listing=*/false);
  ASSERT_EQ(findings.size(), 3u);
  EXPECT_EQ(findings[0].level, Level::kWarn);
  EXPECT_EQ(findings[0].found,
            "adverts to 224.0.0.18 on eth0: cannot judge netdev edge ingress (an ingress chain "
            "whose device nft does not say)");
}

TEST(FirewallTest, WithoutNftOrItsJson) {
  auto parsed = config::parse_text("site.conf", site());
  ASSERT_TRUE(parsed->ok());
  Facts facts;
  facts.firewall = FirewallRuleset{.error = "nft -j list ruleset failed: Operation not permitted"};
  auto findings = diagnose_firewall(parsed->config, parsed->files, facts);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].level, Level::kWarn);
  EXPECT_EQ(findings[0].subject, "vrrp_instance VI_1 (and 2 more)");
  EXPECT_EQ(findings[0].found, "nft -j list ruleset failed: Operation not permitted");
  facts.firewall = FirewallRuleset{.json = "[1, 2"};
  findings = diagnose_firewall(parsed->config, parsed->files, facts);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].found, "nft -j list ruleset: not nftables JSON (no \"nftables\" array)");
  facts.firewall.reset();  // not gathered: no finding
  EXPECT_TRUE(diagnose_firewall(parsed->config, parsed->files, facts).empty());
}

// The judge's rules one by one, on table inet t: chain "in" on the input hook and chains "a"
// and "b" to jump to. Rules are nft JSON expression arrays; handles count from 1 in order.
struct ChainSpec {
  std::string name;
  std::string policy;  // empty: not a base chain
  std::vector<std::string> rules;
};

std::string ruleset(const std::vector<ChainSpec>& chains, const std::string& extra = "") {
  nlohmann::json items = nlohmann::json::array();
  items.push_back({{"table", {{"family", "inet"}, {"name", "t"}, {"handle", 1}}}});
  if (!extra.empty()) items.push_back(nlohmann::json::parse(extra));
  for (const auto& c : chains) {
    nlohmann::json chain = {{"family", "inet"}, {"table", "t"}, {"name", c.name}, {"handle", 1}};
    if (!c.policy.empty()) {
      chain["type"] = "filter";
      chain["hook"] = "input";
      chain["prio"] = 0;
      chain["policy"] = c.policy;
    }
    items.push_back({{"chain", chain}});
  }
  uint64_t handle = 0;
  for (const auto& c : chains) {
    for (const auto& r : c.rules)
      items.push_back({{"rule",
                        {{"family", "inet"},
                         {"table", "t"},
                         {"chain", c.name},
                         {"handle", ++handle},
                         {"expr", nlohmann::json::parse(r)}}}});
  }
  return nlohmann::json{{"nftables", items}}.dump();
}

using firewall::Advert;
using firewall::Outcome;

const Advert kMulticast{.family = AddressFamily::kIpv4,
                        .destination = IpAddress::parse("224.0.0.18"),
                        .interface = "eth0"};
const Advert kFromPeer{.family = AddressFamily::kIpv4,
                       .source = IpAddress::parse("192.0.2.2"),
                       .destination = IpAddress::parse("192.0.2.1"),
                       .interface = "eth0"};
const Advert kFromPeerToAny{
    .family = AddressFamily::kIpv4, .source = IpAddress::parse("192.0.2.2"), .interface = "eth0"};

constexpr const char* kVrrp =
    R"({"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "vrrp"}})";
std::string rule(const std::string& match, const std::string& verdict) {
  return match.empty() ? "[" + verdict + "]" : "[" + match + ", " + verdict + "]";
}
std::string saddr(const std::string& op, const std::string& right) {
  return R"({"match": {"op": ")" + op +
         R"(", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": )" + right +
         "}}";
}
std::string daddr(const std::string& right) {
  return R"({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": )" +
         right + "}}";
}
std::string iifname(const std::string& right) {
  return R"({"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": )" + right + "}}";
}
std::string ct_state(const std::string& right) {
  return R"({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": )" + right + "}}";
}
constexpr const char* kAccept = R"({"accept": null})";
constexpr const char* kDrop = R"({"drop": null})";

struct JudgeRow {
  const char* name;
  std::vector<ChainSpec> chains;
  Advert advert;
  Outcome outcome;
  uint64_t by = 0;         // the deciding rule's handle (0: a policy, or none for kUnknown)
  std::string chain;       // the chain of that rule
  std::string unjudged;    // kUnknown: a part of the first reason
  std::string extra = {};  // another item of the ruleset (a named set or map)
};

void PrintTo(const JudgeRow& row, std::ostream* out) {
  *out << row.name;
}

class JudgeTest : public testing::TestWithParam<JudgeRow> {};

TEST_P(JudgeTest, FollowsTheAdvert) {
  const JudgeRow& row = GetParam();
  auto rules = firewall::Ruleset::parse(ruleset(row.chains, row.extra));
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  const auto j = rules->judge(row.advert);
  EXPECT_EQ(j.outcome, row.outcome);
  if (row.outcome == Outcome::kUnknown) {
    ASSERT_FALSE(j.unjudged.empty());
    EXPECT_THAT(j.unjudged.front().second, testing::HasSubstr(row.unjudged));
    return;
  }
  EXPECT_TRUE(j.unjudged.empty());
  ASSERT_FALSE(j.steps.empty());
  EXPECT_EQ(j.steps.back().by.handle, row.by);
  EXPECT_EQ(j.steps.back().by.chain, row.chain);
}

INSTANTIATE_TEST_SUITE_P(
    Firewall, JudgeTest,
    testing::Values(
        JudgeRow{"return_in_base_chain_is_the_policy",
                 {{"in", "drop", {rule("", R"({"return": null})"), rule(kVrrp, kAccept)}}},
                 kMulticast,
                 Outcome::kDropped,
                 0,
                 "in"},
        JudgeRow{"jump_returns_to_the_next_rule",
                 {{"in", "drop", {rule("", R"({"jump": {"target": "a"}})"), rule(kVrrp, kAccept)}},
                  {"a", "", {rule(iifname(R"("eth1")"), kAccept)}}},
                 kMulticast,
                 Outcome::kAccepted,
                 2,
                 "in"},
        JudgeRow{"goto_does_not_return",
                 {{"in", "accept", {rule("", R"({"goto": {"target": "a"}})"), rule(kVrrp, kDrop)}},
                  {"a", "", {rule(iifname(R"("eth1")"), kDrop)}}},
                 kMulticast,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"goto_then_return_goes_back_past_the_jump",
                 {{"in", "accept", {rule("", R"({"jump": {"target": "a"}})"), rule(kVrrp, kDrop)}},
                  {"a", "", {rule("", R"({"goto": {"target": "b"}})")}},
                  {"b", "", {rule("", R"({"return": null})"), rule("", kAccept)}}},
                 kMulticast,
                 Outcome::kDropped,
                 2,
                 "in"},
        JudgeRow{"missing_chain",
                 {{"in", "accept", {rule("", R"({"jump": {"target": "x"}})")}}},
                 kMulticast,
                 Outcome::kUnknown,
                 0,
                 "",
                 "chain x is not in the ruleset"},
        JudgeRow{"a_chain_jumping_to_itself",
                 {{"in", "accept", {rule("", R"({"jump": {"target": "a"}})")}},
                  {"a", "", {rule("", R"({"jump": {"target": "a"}})")}}},
                 kMulticast,
                 Outcome::kUnknown,
                 0,
                 "",
                 "jumps nest too deep"},
        JudgeRow{"saddr_not_equal",
                 {{"in", "accept", {rule(saddr("!=", R"("192.0.2.2")"), kDrop)}}},
                 kFromPeer,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"saddr_range",
                 {{"in",
                   "accept",
                   {rule(saddr("==", R"({"range": ["192.0.2.1", "192.0.2.5"]})"), kDrop)}}},
                 kFromPeer,
                 Outcome::kDropped,
                 1,
                 "in"},
        JudgeRow{"saddr_prefix_elsewhere",
                 {{"in",
                   "accept",
                   {rule(saddr("==", R"({"prefix": {"addr": "10.0.0.0", "len": 8}})"), kDrop)}}},
                 kFromPeer,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"ipv6_prefix_never_matches_ipv4",
                 {{"in",
                   "accept",
                   {rule(saddr("==", R"({"prefix": {"addr": "::", "len": 0}})"), kDrop)}}},
                 kFromPeer,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{
            "named_set",
            {{"in", "accept", {rule(saddr("==", R"("@bad")"), kDrop)}}},
            kFromPeer,
            Outcome::kDropped,
            1,
            "in",
            "",
            R"({"set": {"family": "inet", "table": "t", "name": "bad", "type": "ipv4_addr", "handle": 9, "elem": [{"prefix": {"addr": "192.0.2.0", "len": 24}}]}})"},
        JudgeRow{"missing_set",
                 {{"in", "accept", {rule(saddr("==", R"("@gone")"), kDrop)}}},
                 kFromPeer,
                 Outcome::kUnknown,
                 0,
                 "",
                 "set @gone is not in the ruleset"},
        JudgeRow{"unknown_sender_of_multicast",
                 {{"in", "accept", {rule(saddr("==", R"("192.0.2.9")"), kDrop)}}},
                 kMulticast,
                 Outcome::kUnknown,
                 0,
                 "",
                 "any router on the link may send"},
        JudgeRow{"a_sender_is_never_multicast",
                 {{"in",
                   "accept",
                   {rule(saddr("==", R"({"prefix": {"addr": "224.0.0.0", "len": 4}})"), kDrop)}}},
                 kMulticast,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"unicast_destination_not_multicast",
                 {{"in",
                   "accept",
                   {rule(daddr(R"({"prefix": {"addr": "224.0.0.0", "len": 4}})"), kDrop)}}},
                 kFromPeerToAny,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"unicast_destination_unknown",
                 {{"in", "drop", {rule(daddr(R"("192.0.2.1")"), kAccept)}}},
                 kFromPeerToAny,
                 Outcome::kUnknown,
                 0,
                 "",
                 "no unicast_src_ip"},
        JudgeRow{"interface_wildcard",
                 {{"in", "accept", {rule(iifname(R"("et*")"), kDrop)}}},
                 kMulticast,
                 Outcome::kDropped,
                 1,
                 "in"},
        JudgeRow{"interface_literal_star",
                 {{"in", "accept", {rule(iifname(R"("et\\*")"), kDrop)}}},
                 kMulticast,
                 Outcome::kAccepted,
                 0,
                 "in"},
        JudgeRow{"interface_set",
                 {{"in", "accept", {rule(iifname(R"({"set": ["eth1", "eth0"]})"), kDrop)}}},
                 kMulticast,
                 Outcome::kDropped,
                 1,
                 "in"},
        JudgeRow{"ct_state_established_is_not_an_advert",
                 {{"in", "drop", {rule(ct_state(R"(["established", "related"])"), kAccept)}}},
                 kMulticast,
                 Outcome::kDropped,
                 0,
                 "in"},
        JudgeRow{"ct_state_new_is",
                 {{"in", "accept", {rule(ct_state(R"("new")"), kDrop)}}},
                 kMulticast,
                 Outcome::kDropped,
                 1,
                 "in"},
        JudgeRow{
            "ct_state_verdict_map",
            {{"in",
              "accept",
              {rule(
                  "",
                  R"({"vmap": {"key": {"ct": {"key": "state"}}, "data": {"set": [["established", {"accept": null}], ["new", {"drop": null}]]}}})")}}},
            kMulticast,
            Outcome::kDropped,
            1,
            "in"},
        JudgeRow{
            "interface_named_verdict_map",
            {{"in",
              "drop",
              {rule("", R"({"vmap": {"key": {"meta": {"key": "iifname"}}, "data": "@zones"}})")}},
             {"a", "", {rule(kVrrp, kAccept)}}},
            kMulticast,
            Outcome::kAccepted,
            2,
            "a",
            "",
            R"({"map": {"family": "inet", "table": "t", "name": "zones", "type": "ifname", "handle": 9, "map": "verdict", "elem": [["eth0", {"jump": {"target": "a"}}]]}})"},
        JudgeRow{
            "protocol_number_and_set",
            {{"in",
              "accept",
              {rule(
                  R"({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "protocol"}}, "right": {"set": ["tcp", 112]}}})",
                  kDrop)}}},
            kMulticast,
            Outcome::kDropped,
            1,
            "in"},
        JudgeRow{
            "ports_never_match_vrrp",
            {{"in",
              "drop",
              {rule(
                  R"({"match": {"op": "!=", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}})",
                  kAccept)}}},
            kMulticast,
            Outcome::kDropped,
            0,
            "in"},
        JudgeRow{
            "pkttype_multicast",
            {{"in",
              "accept",
              {rule(
                  R"({"match": {"op": "==", "left": {"meta": {"key": "pkttype"}}, "right": "multicast"}})",
                  kDrop)}}},
            kMulticast,
            Outcome::kDropped,
            1,
            "in"},
        JudgeRow{
            "counter_and_log_change_nothing",
            {{"in",
              "accept",
              {rule(
                  kVrrp,
                  R"({"counter": {"packets": 0, "bytes": 0}}, {"log": {"prefix": "x"}}, {"drop": null})")}}},
            kMulticast,
            Outcome::kDropped,
            1,
            "in"},
        JudgeRow{"limit_decides",
                 {{"in",
                   "drop",
                   {rule(kVrrp, R"({"limit": {"rate": 10, "per": "second"}}, {"accept": null})")}}},
                 kMulticast,
                 Outcome::kUnknown,
                 0,
                 "",
                 "it uses limit"},
        JudgeRow{"queue_cannot_be_foreseen",
                 {{"in", "accept", {rule(kVrrp, R"({"queue": {"num": 1}})")}}},
                 kMulticast,
                 Outcome::kUnknown,
                 0,
                 "",
                 "its verdict is queue"},
        JudgeRow{
            "iptables_match",
            {{"in", "accept", {rule(R"({"xt": {"type": "match", "name": "addrtype"}})", kDrop)}}},
            kMulticast,
            Outcome::kUnknown,
            0,
            "",
            "the iptables match addrtype"},
        JudgeRow{
            "iptables_reject",
            {{"in", "accept", {rule(kVrrp, R"({"xt": {"type": "target", "name": "REJECT"}})")}}},
            kMulticast,
            Outcome::kDropped,
            1,
            "in"},
        JudgeRow{
            "unjudged_but_every_way_drops",
            {{"in",
              "drop",
              {rule(R"({"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}})",
                    kDrop)}}},
            kMulticast,
            Outcome::kDropped,
            0,
            "in"}),
    [](const testing::TestParamInfo<JudgeRow>& info) { return std::string(info.param.name); });

TEST(FirewallTest, ParseErrors) {
  EXPECT_FALSE(firewall::Ruleset::parse("not json").ok());
  EXPECT_FALSE(firewall::Ruleset::parse(R"({"other": []})").ok());
  auto orphan = firewall::Ruleset::parse(
      R"({"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 1, "expr": []}}]})");
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().message, "a rule of a chain not listed before it");
  auto empty = firewall::Ruleset::parse(R"({"nftables": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(FirewallTest, RuleTextsByHandle) {
  const auto texts = firewall::rule_texts(read("peer-blocked.nft"));
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(texts.at({"inet", "filter", "input", 3}), "ct state established,related accept");
  EXPECT_EQ(texts.at({"inet", "filter", "input", 4}),
            "ip saddr @vrrp_peers ip protocol vrrp accept");
  const auto counted = firewall::rule_texts(read("iptables.nft"));
  EXPECT_EQ(counted.at({"ip", "filter", "INPUT", 3}), "meta l4proto vrrp counter drop");
}

}  // namespace
}  // namespace vigil::doctor

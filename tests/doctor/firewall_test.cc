// The VRRP firewall check (firewall.h, firewall_rules.cc): rulesets captured from nft on a real
// host (tests/data/doctor/firewall: CASE.rules applied with nft -f, captured by `capture`) judged
// for a multicast, a unicast and an IPv6 instance; then the judge's rules one by one on small
// hand-written rulesets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/parser.h"
#include "doctor/doctor.h"
#include "doctor/firewall.h"

namespace vigil::doctor {
namespace {

constexpr const char* kSite = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress { 192.0.2.10/24 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  unicast_src_ip 192.0.2.1
  unicast_peer { 192.0.2.2 }
  virtual_ipaddress { 192.0.2.20/24 }
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 56
  priority 100
  virtual_ipaddress { 2001:db8::10/64 }
}
)";

std::string read(const std::string& name) {
  std::ifstream in(std::string(VIGIL_TEST_DATA_DIR) + "/doctor/firewall/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Finding> judge_case(const std::string& name, bool with_listing = true) {
  auto parsed = config::parse_text("site.conf", kSite);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  Facts facts;
  facts.firewall = FirewallRuleset{.json = read(name + ".json"),
                                   .listing = with_listing ? read(name + ".nft") : ""};
  return diagnose_firewall(parsed->config, parsed->files, facts);
}

TEST(Dump, All) {
  for (const char* c : {"empty", "vrrp-drop", "policy-drop", "policy-drop-vrrp-accept", "multicast-drop", "iptables", "peer-blocked", "peer-accepted", "unjudged", "unjudged-harmless", "two-chains", "prerouting-drop", "ingress-drop", "other-interface", "ipv6-drop"}) {
    for (const auto& f : judge_case(c)) {
      std::cout << c << " | " << f.subject << " | " << to_string(f.level) << "\n  found: " << f.found << "\n  fix: " << f.fix << "\n";
    }
  }
}

}  // namespace
}  // namespace vigil::doctor

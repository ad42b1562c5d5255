// virtual_routes and virtual_rules: keepalived 2.2.7's words → the model, and the file:line:col
// of every error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/json.h"
#include "test_util.h"

namespace vigil::config {
namespace {

using testing::errors;
using testing::parse;
using testing::parse_ok;
using testing::warnings;
using Strings = std::vector<std::string>;

// One instance with `routes` in virtual_routes (first line 5) and `rules` in virtual_rules.
std::string with_blocks(const std::string& routes, const std::string& rules = "") {
  std::string out =
      "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_routes {\n" +
      routes + "  }\n";
  if (!rules.empty()) out += "  virtual_rules {\n" + rules + "  }\n";
  return out + "  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n";
}

std::string rules_only(const std::string& rules) {
  return "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  virtual_rules {\n" +
         rules + "  }\n  virtual_ipaddress {\n    10.0.0.1/24\n  }\n}\n";
}

IpPrefix prefix(std::string_view text) {
  return *IpPrefix::parse(text);
}

TEST(VirtualRoutes, EveryImplementedOptionReachesTheModel) {
  std::unique_ptr<Parsed> p;
  const auto& vi =
      parse_ok(p, with_blocks("    src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 "
                              "dev eth1 table 100 metric 7 scope link protocol 18 tos 0x10 "
                              "onlink append\n"
                              "    blackhole 192.168.114.0/24 table main no_track\n"
                              "    inet6 2001:db8:5::/48 via 2001:db8::1 dev eth0 add\n"
                              "    default via 10.0.0.254 dev eth0 table 7 priority 9\n"))
          .vrrp.instances.at(0);
  ASSERT_EQ(vi.virtual_routes.size(), 4U);
  const auto& r = vi.virtual_routes[0];
  EXPECT_EQ(r.destination, prefix("192.168.109.0/24"));
  EXPECT_EQ(r.type, RouteType::kUnicast);
  EXPECT_EQ(r.preferred_source, IpAddress::parse("192.168.100.1"));
  EXPECT_EQ(r.gateway, IpAddress::parse("192.168.200.254"));
  EXPECT_EQ(r.dev, "eth1");
  EXPECT_EQ(r.table, 100U);
  EXPECT_EQ(r.metric, 7U);
  EXPECT_EQ(r.scope, kScopeLink);
  EXPECT_EQ(r.protocol, kProtocolKeepalived);
  EXPECT_EQ(r.tos, 0x10);
  EXPECT_TRUE(r.onlink);
  EXPECT_EQ(r.add_mode, RouteAddMode::kAppend);
  EXPECT_FALSE(r.no_track);
  EXPECT_EQ(r.loc.line, 5U);

  const auto& blackhole = vi.virtual_routes[1];
  EXPECT_EQ(blackhole.type, RouteType::kBlackhole);
  EXPECT_EQ(blackhole.destination, prefix("192.168.114.0/24"));
  EXPECT_EQ(blackhole.table, kTableMain);
  EXPECT_TRUE(blackhole.no_track);

  const auto& v6 = vi.virtual_routes[2];
  EXPECT_EQ(v6.destination, prefix("2001:db8:5::/48"));
  EXPECT_EQ(v6.gateway, IpAddress::parse("2001:db8::1"));
  EXPECT_EQ(v6.add_mode, RouteAddMode::kAdd);
  EXPECT_EQ(v6.scope, std::nullopt);

  const auto& fallback = vi.virtual_routes[3];
  EXPECT_EQ(fallback.destination, prefix("0.0.0.0/0"));
  EXPECT_EQ(fallback.table, 7U);
  EXPECT_EQ(fallback.metric, 9U);
  EXPECT_EQ(warnings(*p), Strings{});
}

TEST(VirtualRoutes, ANoTrackRouteMayHaveAnyProtocolAndNoDev) {
  std::unique_ptr<Parsed> p;
  const auto& routes =
      parse_ok(p, with_blocks("    10.8.0.0/16 via 10.0.0.254 protocol 4 no_track\n"))
          .vrrp.instances.at(0)
          .virtual_routes;
  EXPECT_EQ(routes.at(0).protocol, 4);
  EXPECT_TRUE(routes.at(0).dev.empty());
}

struct ErrorCase {
  const char* what;
  std::string routes;
  std::string rules;
  Strings expected;
};

class RoutingErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RoutingErrors, NameFileLineAndColumn) {
  const auto& c = GetParam();
  auto p = parse(c.rules.empty() ? with_blocks(c.routes) : rules_only(c.rules));
  EXPECT_FALSE(p->ok()) << c.what;
  EXPECT_EQ(errors(*p), c.expected) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RoutingErrors,
    ::testing::Values(
        ErrorCase{"no destination",
                  "    via 10.0.0.1 dev eth0\n",
                  "",
                  {"5:5: vrrp_instance VI_1: virtual_routes: the route has no destination"}},
        ErrorCase{"unknown word",
                  "    10.1.0.0/16 dve eth0\n",
                  "",
                  {"5:17: vrrp_instance VI_1: virtual_routes: unknown option 'dve'; did you "
                   "mean 'dev'?"}},
        ErrorCase{"keepalived option vigil does not implement",
                  "    10.1.0.0/16 dev eth0 mtu 1400\n",
                  "",
                  {"5:26: vrrp_instance VI_1: virtual_routes: 'mtu' is a keepalived option vigil "
                   "does not implement; see docs/config.md"}},
        ErrorCase{"multipath",
                  "    10.1.0.0/16 nexthop via 10.0.0.1 dev eth0\n",
                  "",
                  {"5:17: vrrp_instance VI_1: virtual_routes: 'nexthop' is a keepalived option "
                   "vigil does not implement; see docs/config.md"}},
        ErrorCase{
            "mixed families",
            "    10.1.0.0/16 via 2001:db8::1 dev eth0\n",
            "",
            {"5:21: vrrp_instance VI_1: virtual_routes: '2001:db8::1' is IPv6 but the line is IPv4 "
             "(keepalived cannot mix families either)"}},
        ErrorCase{"host bits",
                  "    10.1.2.0/16 dev eth0\n",
                  "",
                  {"5:5: vrrp_instance VI_1: virtual_routes: '10.1.2.0/16' has bits set after "
                   "the prefix length (the kernel refuses it)"}},
        ErrorCase{"table name",
                  "    10.1.0.0/16 dev eth0 table vpn\n",
                  "",
                  {"5:32: vrrp_instance VI_1: virtual_routes: table 'vpn' is not a table number "
                   "in [1, 4294967295] or main, local, default (vigil does not read "
                   "/etc/iproute2/rt_tables)"}},
        ErrorCase{"value missing",
                  "    10.1.0.0/16 dev\n",
                  "",
                  {"5:17: vrrp_instance VI_1: virtual_routes: 'dev' needs a value"}},
        ErrorCase{"blackhole with a device",
                  "    blackhole 10.1.0.0/16 dev eth0\n",
                  "",
                  {"5:5: vrrp_instance VI_1: virtual_routes: a blackhole, unreachable, prohibit "
                   "or throw route takes no via or dev"}},
        ErrorCase{"tracked route without dev (keepalived -t exits 5)",
                  "    192.168.112.0/24 via 10.0.0.254\n",
                  "",
                  {"5:5: vrrp_instance VI_1: virtual_routes: route 192.168.112.0/24 has no dev, "
                   "so it cannot be tracked (keepalived reports it and does not track it): add "
                   "dev or no_track"}},
        ErrorCase{"tracked route with another protocol (keepalived -t exits 5)",
                  "    10.9.0.0/16 dev eth0 protocol 4\n",
                  "",
                  {"5:35: vrrp_instance VI_1: virtual_routes: a tracked route must have protocol "
                   "keepalived (18); add no_track to install it with protocol 4"}},
        ErrorCase{"rule without preference (keepalived -t exits 5)",
                  "",
                  "    from 10.0.0.0/8 table 5\n",
                  {"5:5: vrrp_instance VI_1: virtual_rules: the rule has no preference "
                   "(keepalived would number it from 16384 down and report it): add "
                   "preference N"}},
        ErrorCase{"gw (keepalived -t exits 5)",
                  "    10.1.0.0/16 gw 10.0.0.1 dev eth0\n",
                  "",
                  {"5:17: vrrp_instance VI_1: virtual_routes: 'gw' is deprecated in keepalived "
                   "(a configuration error there): use via"}},
        ErrorCase{"rule without action",
                  "",
                  "    from 10.0.0.0/8 preference 100\n",
                  {"5:5: vrrp_instance VI_1: virtual_rules: the rule has no action (table, goto, "
                   "nop, blackhole, unreachable, prohibit)"}},
        ErrorCase{"two actions",
                  "",
                  "    from 10.0.0.0/8 table 5 blackhole preference 100\n",
                  {"5:29: vrrp_instance VI_1: virtual_rules: more than one of table, goto, nop, "
                   "blackhole, unreachable, prohibit"}},
        ErrorCase{"pref is not keepalived's word",
                  "",
                  "    from 10.0.0.0/8 table 5 pref 100\n",
                  {"5:29: vrrp_instance VI_1: virtual_rules: unknown option 'pref' (ip rule's "
                   "word; keepalived reads preference, order or priority)"}},
        ErrorCase{"unsupported selector",
                  "",
                  "    from 10.0.0.0/8 table 5 uidrange 1-2 preference 100\n",
                  {"5:29: vrrp_instance VI_1: virtual_rules: 'uidrange' is a keepalived option "
                   "vigil does not implement; see docs/config.md"}},
        ErrorCase{"bad fwmark",
                  "",
                  "    fwmark 0x10/x table 5 preference 100\n",
                  {"5:12: vrrp_instance VI_1: virtual_rules: fwmark '0x10/x' is not MARK or "
                   "MARK/MASK (32-bit numbers)"}},
        ErrorCase{"goto backwards",
                  "",
                  "    from 10.0.0.0/8 goto 50 preference 100\n",
                  {"5:5: vrrp_instance VI_1: virtual_rules: a goto rule needs a preference below "
                   "its target (keepalived's rule)"}}));

TEST(VirtualRules, EveryImplementedSelectorReachesTheModel) {
  std::unique_ptr<Parsed> p;
  const auto& vi =
      parse_ok(p, rules_only("    from 192.168.2.0/24 to 10.0.0.0/8 table 100 preference 200 "
                             "iif eth0 oif eth1 fwmark 0x10/0xff tos 0x08\n"
                             "    to 192.168.2.0/24 lookup 1 priority 300 no_track\n"
                             "    inet6 from all unreachable order 400\n"
                             "    from 10.1.0.0/16 goto 600 preference 500\n"))
          .vrrp.instances.at(0);
  ASSERT_EQ(vi.virtual_rules.size(), 4U);
  const auto& r = vi.virtual_rules[0];
  EXPECT_EQ(r.family, AddressFamily::kIpv4);
  EXPECT_EQ(r.from, prefix("192.168.2.0/24"));
  EXPECT_EQ(r.to, prefix("10.0.0.0/8"));
  EXPECT_EQ(r.action, RuleAction::kTable);
  EXPECT_EQ(r.table, 100U);
  EXPECT_EQ(r.priority, 200U);
  EXPECT_EQ(r.iif, "eth0");
  EXPECT_EQ(r.oif, "eth1");
  EXPECT_EQ(r.fwmark, 0x10U);
  EXPECT_EQ(r.fwmask, 0xffU);
  EXPECT_EQ(r.tos, 0x08);
  EXPECT_FALSE(r.no_track);
  EXPECT_EQ(vi.virtual_rules[1].to, prefix("192.168.2.0/24"));
  EXPECT_EQ(vi.virtual_rules[1].priority, 300U);
  EXPECT_TRUE(vi.virtual_rules[1].no_track);
  EXPECT_EQ(vi.virtual_rules[2].family, AddressFamily::kIpv6);
  EXPECT_EQ(vi.virtual_rules[2].from, std::nullopt);
  EXPECT_EQ(vi.virtual_rules[2].action, RuleAction::kUnreachable);
  EXPECT_EQ(vi.virtual_rules[3].action, RuleAction::kGoto);
  EXPECT_EQ(vi.virtual_rules[3].goto_target, 600U);
}

TEST(VirtualRoutes, TheDumpShowsRoutesAndRules) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p, with_blocks("    10.1.0.0/16 via 10.0.0.254 dev eth0 table 7\n",
                                               "    from 10.1.0.0/16 table 7 preference 70\n"));
  const auto dumped = nlohmann::json::parse(to_json_text(config));
  const auto& vi = dumped["vrrp_instance"][0];
  EXPECT_EQ(vi["virtual_routes"][0]["to"], "10.1.0.0/16");
  EXPECT_EQ(vi["virtual_routes"][0]["via"], "10.0.0.254");
  EXPECT_EQ(vi["virtual_routes"][0]["table"], 7);
  EXPECT_EQ(vi["virtual_routes"][0]["no_track"], false);
  EXPECT_EQ(vi["virtual_rules"][0]["from"], "10.1.0.0/16");
  EXPECT_EQ(vi["virtual_rules"][0]["preference"], 70);
  EXPECT_EQ(vi["virtual_rules"][0]["action"], "table");
}

}  // namespace
}  // namespace vigil::config

// The top-level static_ipaddress, static_routes and static_rules: keepalived 2.2.7's lines → the
// model, and the file:line:col of every error (keepalived -t rejects the same lines).
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

TEST(StaticBlocks, EveryLineReachesTheModel) {
  std::unique_ptr<Parsed> p;
  const auto& vrrp = parse_ok(p,
                              "static_ipaddress {\n"
                              "  10.9.0.1/32 dev eth0 label eth0:st\n"
                              "  fd00:9::1/64 dev eth1\n"
                              "  10.9.0.2/24\n"
                              "}\n"
                              "static_routes {\n"
                              "  10.9.1.0/24 dev eth0 table 100\n"
                              "  blackhole 192.0.2.0/24 table 100 no_track\n"
                              "}\n"
                              "static_rules {\n"
                              "  from 10.9.5.0/24 table 100 priority 1000\n"
                              "}\n")
                         .vrrp;
  ASSERT_EQ(vrrp.static_addresses.size(), 3U);
  EXPECT_EQ(vrrp.static_addresses[0].prefix, *IpPrefix::parse("10.9.0.1/32"));
  EXPECT_EQ(vrrp.static_addresses[0].dev, "eth0");
  EXPECT_EQ(vrrp.static_addresses[0].label, "eth0:st");
  EXPECT_EQ(vrrp.static_addresses[1].dev, "eth1");
  EXPECT_TRUE(vrrp.static_addresses[2].dev.empty());  // the default interface, resolved later
  EXPECT_EQ(vrrp.static_addresses[2].loc.line, 4U);
  ASSERT_EQ(vrrp.static_routes.size(), 2U);
  EXPECT_EQ(vrrp.static_routes[0].table, 100U);
  EXPECT_EQ(vrrp.static_routes[0].dev, "eth0");
  EXPECT_EQ(vrrp.static_routes[1].type, RouteType::kBlackhole);
  ASSERT_EQ(vrrp.static_rules.size(), 1U);
  EXPECT_EQ(vrrp.static_rules[0].priority, 1000U);
  EXPECT_EQ(vrrp.static_rules[0].table, 100U);
  EXPECT_TRUE(vrrp.instances.empty());
  // They are implemented: no "not implemented yet" warning.
  EXPECT_TRUE(warnings(*p).empty()) << warnings(*p).front();
}

TEST(StaticBlocks, BlocksGivenTwiceAddUp) {
  std::unique_ptr<Parsed> p;
  const auto& vrrp = parse_ok(p,
                              "static_routes {\n  10.9.1.0/24 dev eth0\n}\n"
                              "static_routes {\n  10.9.2.0/24 dev eth0\n}\n")
                         .vrrp;
  EXPECT_EQ(vrrp.static_routes.size(), 2U);
}

TEST(StaticBlocks, TheDumpShowsThem) {
  std::unique_ptr<Parsed> p;
  const auto& config = parse_ok(p,
                                "static_ipaddress {\n  10.9.0.1/32 dev eth0\n}\n"
                                "static_routes {\n  10.9.1.0/24 dev eth0 table 100\n}\n"
                                "static_rules {\n  from 10.9.5.0/24 table 100 priority 1000\n}\n");
  const auto j = nlohmann::json::parse(to_json_text(config));
  EXPECT_EQ(j["static_ipaddress"][0]["address"], "10.9.0.1/32");
  EXPECT_EQ(j["static_routes"].size(), 1U);
  EXPECT_EQ(j["static_rules"].size(), 1U);
}

struct ErrorCase {
  const char* what;
  std::string text;
  Strings expected;
};

class StaticErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(StaticErrors, NameFileLineAndColumn) {
  const auto& c = GetParam();
  auto p = parse(c.text);
  EXPECT_FALSE(p->ok()) << c.what;
  EXPECT_EQ(errors(*p), c.expected) << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StaticErrors,
    ::testing::Values(
        // keepalived: "VRRP parsed invalid IP 10.9.0.300/24. skipping IP..."
        ErrorCase{"bad address",
                  "static_ipaddress {\n  10.9.0.300/24 dev eth0\n}\n",
                  {"2:3: static_ipaddress: '10.9.0.300/24' is not an IP address"}},
        // keepalived: "Unknown configuration entry '10.9.0.2/24' for ip address"
        ErrorCase{"two addresses on a line",
                  "static_ipaddress {\n  10.9.0.1/24 10.9.0.2/24 dev eth0\n}\n",
                  {"2:15: static_ipaddress: one address per line; '10.9.0.2/24' is a second "
                   "address on the line of 10.9.0.1/24"}},
        // keepalived: "Unknown configuration entry 'use_vmac' for ip address"
        ErrorCase{"use_vmac",
                  "static_ipaddress {\n  10.9.0.1/24 dev eth0 use_vmac\n}\n",
                  {"2:24: static_ipaddress 10.9.0.1/24: use_vmac is for virtual_ipaddress, not "
                   "static addresses"}},
        // keepalived: "Block static_routes has extra parameters foo ..."
        ErrorCase{"block arguments",
                  "static_routes foo {\n  10.9.1.0/24 dev eth0\n}\n",
                  {"1:15: 'static_routes' takes 0 arguments, got 1"}},
        // keepalived: "unknown route keyword bogus"
        ErrorCase{"unknown route word",
                  "static_routes {\n  10.9.1.0/24 dev eth0 bogus 3\n}\n",
                  {"2:24: static_routes: unknown option 'bogus'"}},
        // keepalived: "Warning - cannot track route 10.9.1.0/24 with no interface specified"
        ErrorCase{"tracked route without dev",
                  "static_routes {\n  10.9.1.0/24 via 10.0.0.1 table 100\n}\n",
                  {"2:3: static_routes: route 10.9.1.0/24 has no dev, so it cannot be tracked "
                   "(keepalived reports it and does not track it): add dev or no_track"}},
        // keepalived: "track_group g1 not found"; vigil has no static_track_group yet.
        ErrorCase{"track_group",
                  "static_routes {\n  10.9.1.0/24 dev eth0 track_group g1\n}\n",
                  {"2:24: static_routes: 'track_group' is a keepalived option vigil does not "
                   "implement; see docs/config.md"}},
        // keepalived: "Rule has no preference specified - setting to 16384."
        ErrorCase{"rule without preference",
                  "static_rules {\n  from 10.9.5.0/24 table 100\n}\n",
                  {"2:3: static_rules: the rule has no preference (keepalived would number it "
                   "from 16384 down and report it): add preference N"}}));

}  // namespace
}  // namespace vigil::config

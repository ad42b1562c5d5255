// virtual_routes and virtual_rules through the VRRP runtime over a fake host: added on MASTER
// after the addresses, removed on stop before them, and a reload removes only what it drops.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/test_util.h"
#include "daemon/vrrp/fake_vrrp_host.h"
#include "daemon/vrrp/vrrp_runtime.h"

namespace vigil::daemon {
namespace {

using namespace std::chrono_literals;

std::string config_text(const std::string& routes, const std::string& rules) {
  return R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 255
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
  virtual_routes {
)" + routes +
         R"(  }
  virtual_rules {
)" + rules +
         R"(  }
}
)";
}

const std::string kRoutes =
    "    10.1.0.0/16 via 10.0.0.254 dev eth0 table 100\n"
    "    10.2.0.0/16 dev eth0 table 100 no_track\n";
const std::string kRules = "    from 10.0.0.100 table 100 preference 100\n";

class VrrpRoutingTest : public ::testing::Test {
 protected:
  VrrpServiceOptions options() {
    return VrrpServiceOptions{
        .primary_address = [](const std::string&, AddressFamily) -> Result<IpAddress> {
          return *IpAddress::parse("10.0.0.1");
        }};
  }
  const config::Config& parse(const std::string& text) {
    parsed_.emplace_back();
    return config::testing::parse_ok(parsed_.back(), text);
  }
  std::vector<std::string> changes_since(size_t from) const {
    std::vector<std::string> out;
    for (size_t i = from; i < host.routing_log.size(); ++i)
      out.push_back(vrrp::to_string(host.routing_log[i]));
    return out;
  }

  testing::FakeVrrpHost host;
  std::vector<std::unique_ptr<config::Parsed>> parsed_;
};

TEST_F(VrrpRoutingTest, MasterAddsReloadDropsStopRemoves) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(config_text(kRoutes, kRules))));
  host.clock.advance(1s);
  ASSERT_FALSE(host.present.empty()) << "the owner is MASTER at once";
  EXPECT_EQ(changes_since(0),
            (std::vector<std::string>{"route add 10.1.0.0/16 via 10.0.0.254 dev eth0 table 100",
                                      "route add 10.2.0.0/16 dev eth0 table 100",
                                      "rule add pref 100 from 10.0.0.100/32 lookup 100"}));
  // Tracked routes and rules carry protocol keepalived; a no_track rule does not.
  const auto& tracked = std::get<vrrp::Route>(host.routing_log[0].entry);
  EXPECT_EQ(tracked.protocol, vrrp::kRouteProtocolKeepalived);
  EXPECT_EQ(std::get<vrrp::Rule>(host.routing_log[2].entry).protocol,
            vrrp::kRouteProtocolKeepalived);

  // A reload that drops the second route and changes the rule's table: the dropped entries go
  // (the rule first), then the restarted MASTER adds what the new configuration has.
  const size_t before_reload = host.routing_log.size();
  runtime.reload(parse(config_text("    10.1.0.0/16 via 10.0.0.254 dev eth0 table 100\n",
                                   "    from 10.0.0.100 table 101 preference 100 no_track\n")));
  host.clock.run_ready();
  EXPECT_EQ(changes_since(before_reload),
            (std::vector<std::string>{"rule del pref 100 from 10.0.0.100/32 lookup 100",
                                      "route del 10.2.0.0/16 dev eth0 table 100",
                                      "route add 10.1.0.0/16 via 10.0.0.254 dev eth0 table 100",
                                      "rule add pref 100 from 10.0.0.100/32 lookup 101"}));
  EXPECT_EQ(std::get<vrrp::Rule>(host.routing_log.back().entry).protocol, std::nullopt);

  // An unchanged reload touches nothing.
  const size_t before_same = host.routing_log.size();
  runtime.reload(parse(config_text("    10.1.0.0/16 via 10.0.0.254 dev eth0 table 100\n",
                                   "    from 10.0.0.100 table 101 preference 100 no_track\n")));
  host.clock.run_ready();
  EXPECT_EQ(host.routing_log.size(), before_same);

  const size_t before_stop = host.routing_log.size();
  runtime.stop();
  host.clock.run_ready();
  EXPECT_EQ(changes_since(before_stop),
            (std::vector<std::string>{"rule del pref 100 from 10.0.0.100/32 lookup 101",
                                      "route del 10.1.0.0/16 via 10.0.0.254 dev eth0 table 100"}));
  EXPECT_TRUE(host.present.empty());
}

TEST_F(VrrpRoutingTest, ATrackedRoutesDeviceIsTrackedLikeTheInterface) {
  // keepalived: the dev of a tracked route (and iif / oif of a tracked rule) is tracked with
  // weight 0, so its link going down is a FAULT, which removes the routes.
  host.links["eth1"] = true;
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(config_text("    10.1.0.0/16 dev eth1\n", ""))));
  host.clock.advance(1s);
  ASSERT_EQ(host.routing_log.size(), 1U);
  host.set_link("eth1", false);
  host.clock.run_ready();
  EXPECT_EQ(changes_since(1), (std::vector<std::string>{"route del 10.1.0.0/16 dev eth1"}));
  EXPECT_TRUE(host.present.empty()) << "FAULT: the addresses went too";
}

}  // namespace
}  // namespace vigil::daemon

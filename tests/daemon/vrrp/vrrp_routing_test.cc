// virtual_routes and virtual_rules through the VRRP runtime over a fake host: added on MASTER
// after the addresses, removed on stop before them, and a reload removes only what it drops.
#include <gtest/gtest.h>

#include <set>
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

  // The interface of the first change touching `address`.
  std::string interface_of(const IpPrefix& address) const {
    for (const auto& r : host.vip_log) {
      for (const auto& a : r.addresses) {
        if (a == address) return r.interface;
      }
    }
    return "";
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

// static_ipaddress / static_routes / static_rules through the runtime: set at start before any
// instance runs, whatever its state; a reload removes what it drops; a stop removes them after
// the instances, -V or not (keepalived 2.2.7).
const std::string kStatic = R"(
static_ipaddress {
  10.9.0.1/32 dev eth0
  10.9.0.2/32
}
static_routes {
  10.9.1.0/24 dev eth0 table 200
}
static_rules {
  from 10.9.5.0/24 table 200 preference 2000
}
)";

// A backup instance (it stays BACKUP while the test runs: no time passes).
const std::string kBackupInstance = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress { 10.0.0.100/24 }
}
)";

TEST_F(VrrpRoutingTest, StaticEntriesAreSetAtStartWhateverTheInstanceDoes) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(kStatic + kBackupInstance)));
  host.clock.run_ready();
  EXPECT_EQ(host.present,
            (std::set<IpPrefix>{*IpPrefix::parse("10.9.0.1/32"), *IpPrefix::parse("10.9.0.2/32")}));
  // The address without dev went on the default interface (eth0: default_interface unset).
  EXPECT_EQ(interface_of(*IpPrefix::parse("10.9.0.2/32")), "eth0");
  EXPECT_EQ(host.vip_changes(*IpPrefix::parse("10.0.0.100/24")),
            std::vector<testing::FakeVrrpHost::VipCall>{})
      << "the instance is BACKUP: its VIP is not added";
  EXPECT_EQ(changes_since(0),
            (std::vector<std::string>{"route add 10.9.1.0/24 dev eth0 table 200",
                                      "rule add pref 2000 from 10.9.5.0/24 lookup 200"}));
}

TEST_F(VrrpRoutingTest, StaticEntriesGoOnTheDefaultInterface) {
  host.links["eth7"] = true;
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(
      parse("global_defs {\n  default_interface eth7\n}\nstatic_ipaddress {\n  10.9.0.2/32\n}\n")));
  EXPECT_EQ(interface_of(*IpPrefix::parse("10.9.0.2/32")), "eth7");
}

TEST_F(VrrpRoutingTest, AStaticEntryOnAMissingInterfaceStopsTheStart) {
  // keepalived 2.2.7: "Non-existent interface specified in configuration"; it does not start.
  VrrpRuntime runtime(host, options());
  auto started = runtime.start(parse("static_routes {\n  10.9.1.0/24 dev eth9 table 200\n}\n"));
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("eth9"), std::string::npos) << started.error().message;
  EXPECT_TRUE(host.routing_log.empty());
}

TEST_F(VrrpRoutingTest, AReloadRemovesTheDroppedStaticEntriesAndKeepsTheOthers) {
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(kStatic + kBackupInstance)));
  host.clock.run_ready();
  const size_t before = host.routing_log.size();
  const size_t vips_before = host.vip_log.size();
  runtime.reload(
      parse("static_ipaddress {\n  10.9.0.1/32 dev eth0\n}\n"
            "static_routes {\n  10.9.1.0/24 dev eth0 table 200\n}\n" +
            kBackupInstance));
  host.clock.run_ready();
  EXPECT_EQ(changes_since(before),
            (std::vector<std::string>{"rule del pref 2000 from 10.9.5.0/24 lookup 200",
                                      "route add 10.9.1.0/24 dev eth0 table 200"}));
  EXPECT_EQ(host.present, (std::set<IpPrefix>{*IpPrefix::parse("10.9.0.1/32")}));
  EXPECT_EQ(host.vip_changes(*IpPrefix::parse("10.9.0.2/32")),
            (std::vector<testing::FakeVrrpHost::VipCall>{testing::FakeVrrpHost::VipCall::kAdd,
                                                         testing::FakeVrrpHost::VipCall::kRemove}));
  EXPECT_GT(host.vip_log.size(), vips_before);
}

TEST_F(VrrpRoutingTest, StopRemovesStaticEntriesAfterTheInstancesEvenWithKeepVips) {
  auto with_keep = options();
  with_keep.keep_vips_on_stop = true;
  VrrpRuntime runtime(host, with_keep);
  // The owner (priority 255) is MASTER at once and holds its VIP.
  ASSERT_TRUE(runtime.start(parse(kStatic + config_text("", ""))));
  host.clock.advance(1s);
  ASSERT_TRUE(host.present.contains(*IpPrefix::parse("10.0.0.100/24")));
  const size_t before = host.routing_log.size();
  runtime.stop();
  host.clock.run_ready();
  EXPECT_EQ(changes_since(before),
            (std::vector<std::string>{"rule del pref 2000 from 10.9.5.0/24 lookup 200",
                                      "route del 10.9.1.0/24 dev eth0 table 200"}));
  // -V keeps the instance's VIP; the static addresses go all the same.
  EXPECT_EQ(host.present, (std::set<IpPrefix>{*IpPrefix::parse("10.0.0.100/24")}));
}

TEST_F(VrrpRoutingTest, AReloadNamingAMissingInterfaceIsRefused) {
  // keepalived 2.2.7 ends on such a reload and leaves its static entries behind; vigil refuses
  // the reload and the running configuration stays.
  VrrpRuntime runtime(host, options());
  ASSERT_TRUE(runtime.start(parse(kStatic + kBackupInstance)));
  host.clock.run_ready();
  const size_t routing_before = host.routing_log.size();
  const size_t vips_before = host.vip_log.size();
  runtime.reload(parse("static_ipaddress {\n  10.9.0.1/32 dev eth9\n}\n" + kBackupInstance));
  host.clock.run_ready();
  EXPECT_EQ(host.routing_log.size(), routing_before);
  EXPECT_EQ(host.vip_log.size(), vips_before);
  EXPECT_EQ(host.present,
            (std::set<IpPrefix>{*IpPrefix::parse("10.9.0.1/32"), *IpPrefix::parse("10.9.0.2/32")}));
}

}  // namespace
}  // namespace vigil::daemon

#include "daemon/vrrp/vrrp_translate.h"

#include <gtest/gtest.h>

#include <map>

#include "config/test_util.h"
#include "vrrp/tracking.h"

namespace vigil::daemon {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// The lab's interfaces and their primary addresses.
Result<IpAddress> fake_lookup(const std::string& interface, AddressFamily family) {
  static const std::map<std::pair<std::string, AddressFamily>, const char*> table = {
      {{"eth0", AddressFamily::kIpv4}, "10.0.0.1"},
      {{"eth0", AddressFamily::kIpv6}, "fe80::1"},
      {{"eth1", AddressFamily::kIpv4}, "10.1.0.1"},
  };
  auto it = table.find({interface, family});
  if (it == table.end()) return Error{"no address"};
  return ip(it->second);
}

struct Planned {
  std::unique_ptr<config::Parsed> parsed;
  std::vector<VrrpInstancePlan> plans;
};

Planned plan(const std::string& text) {
  Planned out;
  config::testing::parse_ok(out.parsed, text);
  auto plans = plan_instances(out.parsed->config, fake_lookup);
  EXPECT_TRUE(plans) << plans.error().message;
  if (plans) out.plans = std::move(*plans);
  return out;
}

const vrrp::TrackedObject* find_tracked(const vrrp::InstanceConfig& c, const std::string& name) {
  for (const auto& t : c.tracked)
    if (t.name == name) return &t;
  return nullptr;
}

TEST(VrrpTranslate, BasicInstanceFields) {
  auto p = plan(R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 2
  nopreempt
  authentication {
    auth_type PASS
    auth_pass secret12
  }
  virtual_ipaddress {
    10.0.0.100/24 dev eth1 label eth1:vip scope link
    10.0.0.101
  }
  virtual_ipaddress_excluded {
    10.0.0.200/32
  }
}
)");
  ASSERT_EQ(p.plans.size(), 1u);
  const auto& c = p.plans[0].config;
  EXPECT_EQ(c.name, "VI_1");
  EXPECT_EQ(c.interface, "eth0");
  EXPECT_EQ(c.vrid, 51);
  EXPECT_EQ(c.priority, 150);
  EXPECT_EQ(c.version, 2);
  EXPECT_EQ(c.family, AddressFamily::kIpv4);
  EXPECT_EQ(c.advert_interval, 2s);
  EXPECT_EQ(c.primary_address, ip("10.0.0.1"));
  EXPECT_FALSE(c.preempt);
  EXPECT_EQ(c.auth_type, vrrp::AuthType::kSimplePassword);
  EXPECT_EQ(c.auth_pass, "secret12");
  ASSERT_EQ(c.virtual_addresses.size(), 2u);
  EXPECT_EQ(c.virtual_addresses[0].prefix, *IpPrefix::parse("10.0.0.100/24"));
  EXPECT_EQ(c.virtual_addresses[0].device, "eth1");
  EXPECT_EQ(c.virtual_addresses[0].label, "eth1:vip");
  EXPECT_EQ(c.virtual_addresses[0].scope, "link");
  EXPECT_EQ(c.virtual_addresses[1].scope, "");
  ASSERT_EQ(p.plans[0].excluded.size(), 1u);
  EXPECT_EQ(p.plans[0].excluded[0].prefix, *IpPrefix::parse("10.0.0.200/32"));
  // Excluded addresses are not advertised.
  EXPECT_EQ(c.advert(150).addresses, (std::vector<IpAddress>{ip("10.0.0.100"), ip("10.0.0.101")}));
  // The instance's own interface is tracked with weight 0 (down = FAULT).
  const auto* own = find_tracked(c, "interface eth0");
  ASSERT_NE(own, nullptr);
  EXPECT_EQ(own->weight, 0);
}

// Table: how the source address, version and family are chosen.
TEST(VrrpTranslate, SourceAddressVersionAndFamily) {
  struct Case {
    const char* name;
    const char* body;
    uint8_t version;
    AddressFamily family;
    const char* primary;
    size_t peers;
  };
  const Case cases[] = {
      {"interface primary v2", "interface eth0\nvirtual_ipaddress { 10.0.0.100 }", 2,
       AddressFamily::kIpv4, "10.0.0.1", 0},
      {"mcast_src_ip", "interface eth0\nmcast_src_ip 10.0.0.9\nvirtual_ipaddress { 10.0.0.100 }", 2,
       AddressFamily::kIpv4, "10.0.0.9", 0},
      {"unicast",
       "interface eth1\nunicast_src_ip 10.1.0.7\nunicast_peer { 10.1.0.8\n10.1.0.9 }\n"
       "virtual_ipaddress { 10.0.0.100 }",
       2, AddressFamily::kIpv4, "10.1.0.7", 2},
      {"v3 ipv4", "interface eth0\nversion 3\nadvert_int 0.1\nvirtual_ipaddress { 10.0.0.100 }", 3,
       AddressFamily::kIpv4, "10.0.0.1", 0},
      {"ipv6 is v3, link-local source", "interface eth0\nvirtual_ipaddress { 2001:db8::100/64 }", 3,
       AddressFamily::kIpv6, "fe80::1", 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = plan(std::string("vrrp_instance VI_1 {\nvirtual_router_id 7\n") + c.body + "\n}\n");
    ASSERT_EQ(p.plans.size(), 1u);
    const auto& config = p.plans[0].config;
    EXPECT_EQ(config.version, c.version);
    EXPECT_EQ(config.family, c.family);
    EXPECT_EQ(config.primary_address, ip(c.primary));
    EXPECT_EQ(config.unicast_peers.size(), c.peers);
  }
}

// check_unicast_src from the instance or global_defs, or turned on by a peer's min_ttl / max_ttl
// (keepalived); the peers carry their TTL ranges.
TEST(VrrpTranslate, UnicastSourceChecks) {
  const std::string peers =
      "interface eth1\nunicast_src_ip 10.1.0.7\nvirtual_ipaddress { 10.0.0.100 }\n";
  struct Case {
    const char* name;
    std::string text;
    bool check;
    std::vector<vrrp::UnicastPeer> expected;
  };
  const Case cases[] = {
      {"off by default",
       "vrrp_instance VI_1 {\nvirtual_router_id 7\n" + peers + "unicast_peer { 10.1.0.8 }\n}\n",
       false,
       {{.address = ip("10.1.0.8")}}},
      {"instance keyword",
       "vrrp_instance VI_1 {\nvirtual_router_id 7\n" + peers +
           "check_unicast_src\nunicast_peer { 10.1.0.8 }\n}\n",
       true,
       {{.address = ip("10.1.0.8")}}},
      {"global keyword",
       "global_defs {\nvrrp_check_unicast_src\n}\nvrrp_instance VI_1 {\nvirtual_router_id 7\n" +
           peers + "unicast_peer { 10.1.0.8 }\n}\n",
       true,
       {{.address = ip("10.1.0.8")}}},
      {"a peer's min_ttl",
       "vrrp_instance VI_1 {\nvirtual_router_id 7\n" + peers +
           "unicast_peer {\n10.1.0.8 min_ttl 250\n10.1.0.9 max_ttl 254\n}\n}\n",
       true,
       {{.address = ip("10.1.0.8"), .min_ttl = 250}, {.address = ip("10.1.0.9"), .max_ttl = 254}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto p = plan(c.text);
    ASSERT_EQ(p.plans.size(), 1u);
    EXPECT_EQ(p.plans[0].config.check_unicast_src, c.check);
    EXPECT_EQ(p.plans[0].config.unicast_peers, c.expected);
    EXPECT_EQ(p.plans[0].config.receive_policy().check_unicast_src, c.check);
    EXPECT_TRUE(p.plans[0].config.receive_policy().unicast);
  }
}

// unicast_ttl: 255 by default; 0 (which keepalived 2.2.7 accepts, with a warning here) becomes 1.
TEST(VrrpTranslate, UnicastTtl) {
  const std::string head =
      "vrrp_instance VI_1 {\nvirtual_router_id 7\ninterface eth1\nunicast_src_ip 10.1.0.7\n"
      "unicast_peer { 10.1.0.8 }\nvirtual_ipaddress { 10.0.0.100 }\n";
  EXPECT_EQ(plan(head + "}\n").plans[0].config.unicast_ttl, 255);
  EXPECT_EQ(plan(head + "unicast_ttl 64\n}\n").plans[0].config.unicast_ttl, 64);
  EXPECT_EQ(plan(head + "unicast_ttl 0\n}\n").plans[0].config.unicast_ttl, 1);
  auto parsed = config::testing::parse(head + "unicast_ttl 0\n}\n");
  EXPECT_EQ(config::testing::warnings(*parsed),
            (std::vector<std::string>{"7:13: vrrp_instance VI_1: unicast_ttl 0: the kernel sends "
                                      "nothing with TTL 0; adverts go out with TTL 1"}));
}

TEST(VrrpTranslate, MissingPrimaryAddressNamesInstanceAndInterface) {
  std::unique_ptr<config::Parsed> parsed;
  const auto& config = config::testing::parse_ok(parsed, R"(
vrrp_instance VI_9 {
  interface eth7
  virtual_router_id 9
  virtual_ipaddress { 10.0.0.100 }
}
)");
  auto plans = plan_instances(config, fake_lookup);
  ASSERT_FALSE(plans);
  EXPECT_NE(plans.error().message.find("VI_9"), std::string::npos) << plans.error().message;
  EXPECT_NE(plans.error().message.find("eth7"), std::string::npos) << plans.error().message;
}

TEST(VrrpTranslate, GarpSettingsFromGlobalDefsOrInstance) {
  auto p = plan(R"(
global_defs {
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_garp_master_refresh_repeat 4
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress { 10.0.0.100 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  garp_master_delay 7
  garp_master_repeat 1
  garp_master_refresh_repeat 2
  virtual_ipaddress { 10.0.0.101 }
}
)");
  ASSERT_EQ(p.plans.size(), 2u);
  EXPECT_EQ(p.plans[0].config.garp_master_delay, 2s);
  EXPECT_EQ(p.plans[0].config.garp_master_repeat, 3);
  EXPECT_EQ(p.plans[0].config.garp_master_refresh, 60s);
  EXPECT_EQ(p.plans[0].config.garp_master_refresh_repeat, 4);
  EXPECT_EQ(p.plans[1].config.garp_master_delay, 7s);
  EXPECT_EQ(p.plans[1].config.garp_master_repeat, 1);
  EXPECT_EQ(p.plans[1].config.garp_master_refresh_repeat, 2);
  // The lower-priority set defaults to the master's settings (keepalived).
  EXPECT_EQ(p.plans[0].config.garp_lower_prio_delay, 2s);
  EXPECT_EQ(p.plans[0].config.garp_lower_prio_repeat, 3);
  EXPECT_FALSE(p.plans[0].config.lower_prio_no_advert);
}

TEST(VrrpTranslate, LowerPrioritySettingsFromGlobalDefsOrInstance) {
  auto p = plan(R"(
global_defs {
  vrrp_garp_lower_prio_delay 4
  vrrp_garp_lower_prio_repeat 2
  vrrp_lower_prio_no_advert
  vrrp_higher_prio_send_advert
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress { 10.0.0.100 }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 2
  garp_lower_prio_delay 9
  garp_lower_prio_repeat 0
  lower_prio_no_advert false
  higher_prio_send_advert off
  notify_master_rx_lower_pri "/bin/echo lower"
  virtual_ipaddress { 10.0.0.101 }
}
)");
  ASSERT_EQ(p.plans.size(), 2u);
  EXPECT_EQ(p.plans[0].config.garp_lower_prio_delay, 4s);
  EXPECT_EQ(p.plans[0].config.garp_lower_prio_repeat, 2);
  EXPECT_TRUE(p.plans[0].config.lower_prio_no_advert);
  EXPECT_TRUE(p.plans[0].config.higher_prio_send_advert);
  EXPECT_FALSE(p.plans[1].config.higher_prio_send_advert);
  EXPECT_FALSE(p.plans[0].notify_master_rx_lower_pri.has_value());
  EXPECT_EQ(p.plans[1].config.garp_lower_prio_delay, 9s);
  EXPECT_EQ(p.plans[1].config.garp_lower_prio_repeat, 0);
  EXPECT_FALSE(p.plans[1].config.lower_prio_no_advert);
  ASSERT_TRUE(p.plans[1].notify_master_rx_lower_pri.has_value());
  EXPECT_EQ(p.plans[1].notify_master_rx_lower_pri->command.argv,
            (std::vector<std::string>{"/bin/echo", "lower"}));
}

TEST(VrrpTranslate, TrackingTable) {
  auto p = plan(R"(
vrrp_script chk_up {
  script "/bin/true"
  weight 20
}
vrrp_script chk_zero {
  script "/bin/true"
}
vrrp_script chk_rev {
  script "/bin/true"
  weight 10 reverse
}
track_file tf {
  file /tmp/vigil-tf
  weight -3
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  preempt_delay 5
  virtual_ipaddress { 10.0.0.100 }
  track_interface {
    eth1 weight -30
  }
  track_script {
    chk_up
    chk_zero
    chk_rev
  }
  track_file {
    tf
  }
}
)");
  ASSERT_EQ(p.plans.size(), 1u);
  const auto& plan = p.plans[0];
  EXPECT_EQ(plan.config.preempt_delay, 5s);
  struct Expect {
    const char* name;
    int weight;
  };
  const Expect table[] = {
      {"interface eth0", 0},  {"interface eth1", -30}, {"script chk_up", 20},
      {"script chk_zero", 0}, {"script chk_rev", -10}, {"file tf fault", 0},
      {"file tf +0", 1},      {"file tf -7", -128},
  };
  for (const auto& e : table) {
    SCOPED_TRACE(e.name);
    const auto* t = find_tracked(plan.config, e.name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->weight, e.weight);
  }
  ASSERT_EQ(plan.links.size(), 2u);
  EXPECT_EQ(plan.links[0].interface, "eth0");
  EXPECT_EQ(plan.links[1].interface, "eth1");
  ASSERT_EQ(plan.scripts.size(), 3u);
  EXPECT_TRUE(plan.scripts[2].reverse);
  ASSERT_EQ(plan.files.size(), 1u);
  EXPECT_EQ(plan.files[0].weight, -3);
}

TEST(VrrpTranslate, DontTrackPrimaryLeavesOwnInterfaceOut) {
  auto p = plan(R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  dont_track_primary
  virtual_ipaddress { 10.0.0.100 }
}
)");
  ASSERT_EQ(p.plans.size(), 1u);
  EXPECT_EQ(find_tracked(p.plans[0].config, "interface eth0"), nullptr);
  EXPECT_TRUE(p.plans[0].links.empty());
}

TEST(VrrpTranslate, SyncGroupMembershipAndGroupTracking) {
  auto p = plan(R"(
vrrp_script chk {
  script "/bin/true"
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
  track_script {
    chk
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress { 10.0.0.100 }
}
vrrp_instance VI_2 {
  interface eth1
  virtual_router_id 2
  virtual_ipaddress { 10.1.0.100 }
}
)");
  ASSERT_EQ(p.plans.size(), 2u);
  for (const auto& plan : p.plans) {
    EXPECT_EQ(plan.sync_group, "G1");
    const auto* t = find_tracked(plan.config, "script chk");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->weight, 0);
  }
}

TEST(VrrpTranslate, PlansCompareEqualOnlyWhenNothingChanged) {
  const std::string base = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority PRIO
  virtual_ipaddress { 10.0.0.100 }
}
)";
  auto with = [&](const char* prio) {
    auto text = base;
    text.replace(text.find("PRIO"), 4, prio);
    return plan(text);
  };
  auto a = with("100");
  auto b = with("100");
  auto c = with("101");
  auto d = with("100\n  lower_prio_no_advert");
  auto e = with("100\n  notify_master_rx_lower_pri /bin/true");
  auto f = with("100\n  garp_lower_prio_repeat 1");
  auto g = with("100\n  higher_prio_send_advert");
  ASSERT_EQ(a.plans.size(), 1u);
  ASSERT_EQ(c.plans.size(), 1u);
  EXPECT_TRUE(a.plans[0] == b.plans[0]);
  EXPECT_FALSE(a.plans[0] == c.plans[0]);
  EXPECT_FALSE(a.plans[0] == d.plans[0]);
  EXPECT_FALSE(a.plans[0] == e.plans[0]);
  EXPECT_FALSE(a.plans[0] == f.plans[0]);
  EXPECT_FALSE(a.plans[0] == g.plans[0]);
}

// Table: keepalived's track_file semantics.
TEST(VrrpTranslate, TrackFileStates) {
  struct Case {
    int64_t value;
    int weight;
    bool fault;
    int delta;
  };
  const Case cases[] = {
      {0, 0, false, 0},     {1, 0, true, 0},       {5, 1, false, 5},      {5, -3, false, -15},
      {-2, 10, false, -20}, {100, 10, false, 254}, {-254, 1, true, -254}, {-253, 1, false, -253},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.value << " x " << c.weight);
    const auto state = track_file_state(c.value, c.weight);
    EXPECT_EQ(state.fault, c.fault);
    EXPECT_EQ(state.delta, c.delta);
  }
}

// The bit objects, fed to a PriorityTracker, add exactly value × weight.
TEST(VrrpTranslate, TrackFileObjectsMoveThePriorityByTheProduct) {
  for (int delta : {0, 1, 7, 100, 153, -1, -40, -99}) {
    SCOPED_TRACE(delta);
    vrrp::PriorityTracker tracker(100);
    for (int bit = 0; bit < kTrackFileBits; ++bit) {
      tracker.add(tracked_file_bit_name("f", false, bit), 1 << bit, false);
      tracker.add(tracked_file_bit_name("f", true, bit), -(1 << bit), true);
    }
    tracker.add(tracked_file_fault_name("f"), 0, true);
    for (const auto& [name, up] : track_file_objects("f", {.fault = false, .delta = delta}))
      tracker.set_up(name, up);
    EXPECT_EQ(tracker.effective_priority(), std::clamp(100 + delta, 1, 254));
    EXPECT_FALSE(tracker.fault());
    for (const auto& [name, up] : track_file_objects("f", {.fault = true, .delta = -254}))
      tracker.set_up(name, up);
    EXPECT_TRUE(tracker.fault());
  }
}

}  // namespace
}  // namespace vigil::daemon

namespace vigil::daemon {
namespace {

TEST(VrrpTranslate, UseVmacNamesMacsAndSendingInterface) {
  struct Case {
    std::string label;
    std::string global;
    std::string lines;  // of VI_1 (IPv4, VRID 51)
    std::string name;
    std::string interface;
    std::string advert_interface;
  };
  const std::vector<Case> cases = {
      {"default name", "", "use_vmac", "vrrp.51", "vrrp.51", ""},
      {"named", "", "use_vmac vmac51", "vmac51", "vmac51", ""},
      {"xmit_base", "", "use_vmac\n  vmac_xmit_base", "vrrp.51", "vrrp.51", "eth0"},
      {"vmac_prefix", "global_defs {\n  vmac_prefix vm\n}\n", "use_vmac", "vm.51", "vm.51", ""},
  };
  for (const auto& c : cases) {
    auto p = plan(c.global + "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  " +
                  c.lines + "\n  virtual_ipaddress { 10.0.0.100/24 }\n}\n");
    ASSERT_EQ(p.plans.size(), 1U) << c.label;
    const auto& plan = p.plans[0];
    ASSERT_TRUE(plan.vmac) << c.label;
    EXPECT_EQ(plan.vmac->name, c.name) << c.label;
    EXPECT_EQ(plan.vmac->base, "eth0") << c.label;
    EXPECT_EQ(plan.vmac->mac, (vrrp::MacAddress{0, 0, 0x5e, 0, 1, 51})) << c.label;
    EXPECT_EQ(plan.config.interface, c.interface) << c.label;
    EXPECT_EQ(plan.config.advert_interface, c.advert_interface) << c.label;
    EXPECT_EQ(plan.config.primary_address, ip("10.0.0.1")) << c.label << ": eth0's address";
    EXPECT_EQ(plan.links.at(0).interface, "eth0") << c.label << ": the base is tracked";
    EXPECT_FALSE(plan.vmac->link_local) << c.label;
  }
}

TEST(VrrpTranslate, UseVmacIpv6GetsTheLinkLocalAndTheNextFreeDefaultName) {
  auto p = plan(R"(
vrrp_instance VI_4 {
  interface eth0
  virtual_router_id 51
  use_vmac
  virtual_ipaddress { 10.0.0.100/24 }
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 51
  use_vmac
  virtual_ipaddress { 2001:db8::100/64 }
}
)");
  ASSERT_EQ(p.plans.size(), 2U);
  EXPECT_EQ(p.plans[0].vmac->name, "vrrp.51");
  ASSERT_TRUE(p.plans[1].vmac);
  EXPECT_EQ(p.plans[1].vmac->name, "vrrp6.51") << "keepalived's second try for IPv6";
  EXPECT_EQ(p.plans[1].vmac->mac, (vrrp::MacAddress{0, 0, 0x5e, 0, 2, 51}));
  EXPECT_EQ(p.plans[1].vmac->link_local, ip("fe80::1"));
  EXPECT_FALSE(p.plans[0].vmac == p.plans[1].vmac);
}

}  // namespace
}  // namespace vigil::daemon

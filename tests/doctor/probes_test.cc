// The doctor's active probes without a network: the plan, the frames and adverts parsed, and the
// rules over what the probes heard (one row per outcome).
#include "doctor/probes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "config/parser.h"
#include "doctor/doctor.h"

namespace vigil::doctor {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

constexpr Mac kOwn = {0x02, 0, 0, 0, 0, 0x01};
constexpr Mac kRs21 = {0x02, 0, 0, 0, 0, 0x21};
constexpr Mac kRs22 = {0x02, 0, 0, 0, 0, 0x22};
constexpr Mac kStranger = {0x02, 0, 0, 0, 0, 0x99};
constexpr Mac kOtherHost = {0x02, 0, 0, 0, 0, 0x98};
constexpr Mac kVrid51Vmac = {0x00, 0x00, 0x5e, 0x00, 0x01, 51};

constexpr const char* kInstance = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress { 192.0.2.100/24 }
}
)";
constexpr const char* kUnicastInstance = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  unicast_src_ip 192.0.2.1
  unicast_peer { 192.0.2.2 }
  virtual_ipaddress { 192.0.2.100/24 }
}
)";
constexpr const char* kSlowInstance = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 5
  virtual_ipaddress { 192.0.2.100/24 }
}
)";
constexpr const char* kDrService = R"(
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.21 80 { TCP_CHECK { connect_timeout 3 } }
  real_server 192.0.2.22 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
// A DR service whose VIP no vrrp_instance holds.
constexpr const char* kLoneDrService = R"(
virtual_server 192.0.2.200 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.21 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kTunService = R"(
virtual_server 192.0.2.100 443 {
  lb_algo rr
  lb_kind TUN
  protocol TCP
  real_server 198.51.100.30 443 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kDr6Service = R"(
virtual_server 2001:db8::100 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 2001:db8::21 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kNatService = R"(
virtual_server 192.0.2.100 8080 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 8080 { TCP_CHECK { connect_timeout 3 } }
}
)";

std::unique_ptr<config::Parsed> parse(const std::string& text) {
  auto parsed = config::parse_text("site.conf", text);
  EXPECT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  return parsed;
}

HeardAdvert peer_advert(const char* source = "192.0.2.2") {
  HeardAdvert advert{.source = ip(source),
                     .version = 2,
                     .vrid = 51,
                     .priority = 90,
                     .auth_type = 1,
                     .interval = std::chrono::seconds(1),
                     .addresses = {ip("192.0.2.100")}};
  const std::string password = "secret";
  std::copy(password.begin(), password.end(), advert.auth_data.begin());
  return advert;
}

// Both real servers answer for themselves and not for the VIP; the peer advertises our VIP.
Facts probed() {
  Facts f;
  f.local_addresses = {"192.0.2.1"};
  f.interfaces = {{"eth0", {true, true, "up"}}};
  f.routes = {{ip("192.0.2.21"), {.interface = "eth1"}},
              {ip("192.0.2.22"), {.interface = "eth1"}},
              {ip("198.51.100.30"), {.interface = "eth2", .gateway = ip("192.0.2.254")}}};
  ProbeResults p;
  p.arp_rounds = 3;
  p.arp_round = std::chrono::seconds(1);
  p.arp["eth1"].own = kOwn;
  p.arp["eth1"].replies = {{ip("192.0.2.21"), {kRs21}}, {ip("192.0.2.22"), {kRs22}}};
  p.arp["eth2"].own = kOwn;
  p.arp["eth2"].replies = {{ip("192.0.2.254"), {kStranger}}};
  p.arp["eth0"].own = kOwn;  // the VRRP link: nobody answers for the VIP
  p.vrrp["eth0"].listened = std::chrono::milliseconds(3500);
  p.vrrp["eth0"].adverts = {peer_advert()};
  f.probes = p;
  return f;
}

struct Row {
  const char* name;
  std::string config;
  std::function<void(Facts&)> change;
  const char* check;
  Level level;
  const char* found;  // a part of `found`
  const char* fix;    // a part of `fix`; "" for none
  const char* why = "";
};

void PrintTo(const Row& row, std::ostream* out) {
  *out << row.name;
}

std::string listing(const std::vector<Finding>& findings) {
  std::string out;
  for (const auto& f : findings)
    out += f.check + " " + std::string(to_string(f.level)) + ": " + f.found + "\n";
  return out;
}

class ProbeRulesTest : public testing::TestWithParam<Row> {};

TEST_P(ProbeRulesTest, Decides) {
  const Row& row = GetParam();
  auto parsed = parse(row.config);
  Facts facts = probed();
  if (row.change) row.change(facts);
  const auto findings = diagnose_probes(parsed->config, parsed->files, facts);
  std::vector<const Finding*> matching;
  for (const auto& f : findings) {
    if (f.check == row.check && f.found.find(row.found) != std::string::npos)
      matching.push_back(&f);
  }
  ASSERT_EQ(matching.size(), 1u) << "findings for " << row.check << " containing '" << row.found
                                 << "'; all:\n"
                                 << listing(findings);
  const Finding& f = *matching.front();
  EXPECT_EQ(f.level, row.level) << f.found;
  if (std::string(row.fix).empty()) {
    EXPECT_EQ(f.fix, "");
  } else {
    EXPECT_THAT(f.fix, testing::HasSubstr(row.fix));
  }
  EXPECT_THAT(f.why + " " + f.subject, testing::HasSubstr(row.why));
  EXPECT_THAT(f.location, testing::StartsWith("site.conf:"));
}

const std::string kSite = std::string(kInstance) + kDrService;

INSTANTIATE_TEST_SUITE_P(
    Doctor, ProbeRulesTest,
    testing::Values(
        Row{"arp_suppressed", kSite, nullptr, "rs.arp_suppression", Level::kOk,
            "real server 192.0.2.21 does not answer ARP who-has 192.0.2.100 on eth1", "",
            "real_server 192.0.2.21"},
        Row{"arp_not_suppressed", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.100")] = {kRs21}; },
            "rs.arp_suppression", Level::kFail,
            "real server 192.0.2.21 (02:00:00:00:00:21) answers ARP who-has 192.0.2.100 on eth1",
            "on 192.0.2.21: sysctl -w net.ipv4.conf.all.arp_ignore=1 "
            "net.ipv4.conf.all.arp_announce=2",
            "virtual_server 192.0.2.100:80 real_server 192.0.2.21"},
        Row{"arp_fix_puts_the_vip_on_lo", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.100")] = {kRs21}; },
            "rs.arp_suppression", Level::kFail, "192.0.2.21 (",
            "ip address add 192.0.2.100/32 dev lo"},
        Row{"the_other_real_server_is_fine", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.100")] = {kRs21}; },
            "rs.arp_suppression", Level::kOk, "192.0.2.22 does not answer", ""},
        Row{"own_mac_is_not_a_real_server", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.100")] = {kOwn}; },
            "rs.arp_suppression", Level::kOk, "192.0.2.21 does not answer", ""},
        Row{"vrrp_master_answers_for_its_vip", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.100")] = {kStranger}; },
            "rs.vip_owner", Level::kOk, "192.0.2.100 is answered on eth1 by 02:00:00:00:00:99", "",
            "VRRP master"},
        Row{"stranger_answers_for_a_vip", kLoneDrService,
            [](Facts& f) { f.probes->arp["eth1"].replies[ip("192.0.2.200")] = {kStranger}; },
            "rs.vip_owner", Level::kWarn, "neither this director nor a real server",
            "ip neigh show dev eth1"},
        Row{"real_server_reachable", kSite, nullptr, "rs.reachable", Level::kOk,
            "192.0.2.22 answers ARP on eth1 (02:00:00:00:00:22)", ""},
        Row{"real_server_silent", kSite,
            [](Facts& f) { f.probes->arp["eth1"].replies.erase(ip("192.0.2.22")); }, "rs.reachable",
            Level::kWarn, "192.0.2.22 does not answer ARP on eth1 (3 who-has in 3.0 s)",
            "check that 192.0.2.22 is up"},
        Row{"no_route", kSite, [](Facts& f) { f.routes.erase(ip("192.0.2.22")); }, "rs.route",
            Level::kFail, "no route to 192.0.2.22", "ip route get 192.0.2.22"},
        Row{"dr_behind_a_router", kSite,
            [](Facts& f) {
              f.routes[ip("192.0.2.22")] = {.interface = "eth2", .gateway = ip("192.0.2.254")};
            },
            "rs.route", Level::kFail, "192.0.2.22 is reached via the router 192.0.2.254 on eth2",
            "lb_kind TUN"},
        Row{"tun_behind_a_router_reaches_its_router", std::string(kInstance) + kTunService, nullptr,
            "rs.reachable", Level::kOk, "its router 192.0.2.254 answers ARP on eth2", ""},
        Row{"tun_behind_a_router_is_not_probed_for_the_vip", std::string(kInstance) + kTunService,
            nullptr, "rs.arp_suppression", Level::kOk,
            "not probed: 198.51.100.30 is behind the router 192.0.2.254", ""},
        Row{"arp_socket_failed", kSite,
            [](Facts& f) {
              f.probes->arp["eth1"] = {.error = "socket(AF_PACKET): Operation not permitted"};
            },
            "rs.reachable", Level::kWarn, "192.0.2.21", "as root"},
        Row{"ipv6_is_not_probed", kDr6Service, nullptr, "rs.arp_suppression", Level::kOk,
            "IPv6: not probed", "", "neighbour solicitation"},
        Row{"vrid_alone", kSite, [](Facts& f) { f.probes->vrrp["eth0"].adverts.clear(); },
            "vrrp.vrid_on_link", Level::kOk,
            "listened 3.5 s on eth0: no other router sends VRID 51", "", "vrrp_instance VI_1"},
        Row{"vrid_our_peer", kSite, nullptr, "vrrp.vrid_on_link", Level::kOk,
            "peer 192.0.2.2 sends VRRPv2 adverts for VRID 51 on eth0 (priority 90, addresses "
            "192.0.2.100)",
            "", "our peer"},
        Row{"vrid_foreign_router", kSite,
            [](Facts& f) {
              HeardAdvert foreign = peer_advert("192.0.2.66");
              foreign.addresses = {ip("192.0.2.150")};
              f.probes->vrrp["eth0"].adverts.push_back(foreign);
            },
            "vrrp.vrid_on_link", Level::kFail,
            "192.0.2.66 sends VRRPv2 adverts for VRID 51 on eth0 (priority 90, addresses "
            "192.0.2.150)",
            "another virtual_router_id", "not ours"},
        Row{"vrid_own_adverts_ignored", kSite,
            [](Facts& f) { f.probes->vrrp["eth0"].adverts = {peer_advert("192.0.2.1")}; },
            "vrrp.vrid_on_link", Level::kOk, "no other router sends VRID 51", ""},
        Row{"other_vrids_ignored", kSite,
            [](Facts& f) {
              HeardAdvert other = peer_advert("192.0.2.66");
              other.vrid = 52;
              other.addresses = {ip("192.0.2.150")};
              f.probes->vrrp["eth0"].adverts = {other};
            },
            "vrrp.vrid_on_link", Level::kOk, "no other router sends VRID 51", ""},
        Row{"unicast_peer_is_expected", std::string(kUnicastInstance) + kDrService,
            [](Facts& f) {
              HeardAdvert peer = peer_advert();
              peer.auth_type = 0;
              peer.auth_data = {};
              peer.addresses = {ip("192.0.2.111")};  // a peer is a peer, whatever it carries
              f.probes->vrrp["eth0"].adverts = {peer};
            },
            "vrrp.vrid_on_link", Level::kOk, "peer 192.0.2.2", "", "unicast_peer"},
        Row{"unicast_stranger_with_our_addresses", std::string(kUnicastInstance) + kDrService,
            [](Facts& f) {
              HeardAdvert stranger = peer_advert("192.0.2.66");
              stranger.auth_type = 0;
              stranger.auth_data = {};
              f.probes->vrrp["eth0"].adverts = {stranger};
            },
            "vrrp.vrid_on_link", Level::kFail, "192.0.2.66 sends", "another virtual_router_id",
            "not in unicast_peer"},
        Row{"peer_with_another_password", kSite,
            [](Facts& f) { f.probes->vrrp["eth0"].adverts[0].auth_data[0] = 'S'; },
            "vrrp.vrid_on_link", Level::kFail, "authentication differs from ours",
            "the same on both peers", "both become MASTER"},
        Row{"peer_with_another_version", kSite,
            [](Facts& f) { f.probes->vrrp["eth0"].adverts[0].version = 3; }, "vrrp.vrid_on_link",
            Level::kFail, "version 3, ours 2", "the same on both peers"},
        Row{"peer_with_another_interval", kSite,
            [](Facts& f) { f.probes->vrrp["eth0"].adverts[0].interval = std::chrono::seconds(2); },
            "vrrp.vrid_on_link", Level::kFail, "advert_int 2.0 s, ours 1.0 s",
            "the same on both peers"},
        Row{"vip_not_on_this_host", kSite, nullptr, "vrrp.vip_on_host", Level::kOk,
            "no virtual_ipaddress is an address of this host", "", "vigild's to add"},
        Row{"vip_on_this_host_while_a_stronger_peer_is_master", kSite,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              f.probes->vrrp["eth0"].adverts[0].priority = 150;
            },
            "vrrp.vip_on_host", Level::kFail,
            "192.0.2.100 is an address of this host, but 192.0.2.2 is MASTER for VRID 51 (it "
            "sends the adverts, priority 150 against this instance's 100)",
            "ip address del 192.0.2.100/24 dev THAT_DEVICE", "configured outside vigil"},
        Row{"vip_on_this_host_while_a_weaker_peer_advertises", kSite,
            [](Facts& f) { f.local_addresses.insert("192.0.2.100"); }, "vrrp.vip_on_host",
            Level::kOk,
            "192.0.2.100 is an address of this host; 192.0.2.2 advertises VRID 51 at priority 90, "
            "below this instance's 100: this host should be MASTER",
            ""},
        Row{"vip_on_this_host_and_nobody_else_advertises", kSite,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              f.probes->vrrp["eth0"].adverts = {peer_advert("192.0.2.1")};  // our own
            },
            "vrrp.vip_on_host", Level::kOk,
            "192.0.2.100 is an address of this host, and no other router advertises VRID 51 on "
            "eth0 (3.5 s): this host is MASTER if vigild runs here",
            ""},
        Row{"vip_on_this_host_and_a_stranger_is_no_master_of_ours", kSite,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              HeardAdvert foreign = peer_advert("192.0.2.66");
              foreign.addresses = {ip("192.0.2.150")};
              foreign.priority = 200;
              f.probes->vrrp["eth0"].adverts = {foreign};
            },
            "vrrp.vip_on_host", Level::kOk, "no other router advertises VRID 51", ""},
        Row{"unicast_equal_priority_higher_address_wins",
            std::string(kUnicastInstance) + kDrService,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              f.probes->vrrp["eth0"].adverts[0].priority = 100;
            },
            "vrrp.vip_on_host", Level::kFail, "but 192.0.2.2 is MASTER for VRID 51",
            "ip address del 192.0.2.100"},
        Row{"vip_answered_by_nobody", kSite, nullptr, "vrrp.vip_on_peer", Level::kOk,
            "no other host answers ARP for 192.0.2.100 on eth0", "", "outside VRRP"},
        Row{"vip_answered_by_the_master", kSite,
            [](Facts& f) { f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kStranger}; },
            "vrrp.vip_on_peer", Level::kOk,
            "192.0.2.100 is answered on eth0 by 02:00:00:00:00:99 while 192.0.2.2 advertises "
            "VRID 51",
            "", "the VRRP MASTER"},
        Row{"vip_answered_while_no_router_advertises", kSite,
            [](Facts& f) {
              f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kStranger};
              f.probes->vrrp["eth0"].adverts.clear();
            },
            "vrrp.vip_on_peer", Level::kFail,
            "192.0.2.100 is answered on eth0 by 02:00:00:00:00:99, but no VRRP router advertises "
            "VRID 51 there (3.5 s)",
            "ip address del 192.0.2.100/24 dev THAT_DEVICE", "outside VRRP"},
        Row{"vip_answered_by_two_hosts", kSite,
            [](Facts& f) {
              f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kStranger, kOtherHost};
            },
            "vrrp.vip_on_peer", Level::kFail,
            "192.0.2.100 is answered on eth0 by 02:00:00:00:00:98, 02:00:00:00:00:99: more than "
            "one host",
            "ip -o address show to 192.0.2.100", "only the VRRP MASTER may answer"},
        Row{"vip_on_this_host_and_answered_by_another", kSite,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kOwn, kStranger};
            },
            "vrrp.vip_on_peer", Level::kFail,
            "192.0.2.100 is answered on eth0 by this host and 02:00:00:00:00:99: more than one "
            "host",
            "ip address del 192.0.2.100/24"},
        Row{"vip_on_this_host_alone", kSite,
            [](Facts& f) {
              f.local_addresses.insert("192.0.2.100");
              f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kOwn};
            },
            "vrrp.vip_on_peer", Level::kOk, "no other host answers ARP for 192.0.2.100 on eth0", "",
            "this host holds the VIP alone"},
        Row{"vip_answered_by_its_virtual_mac", kSite,
            [](Facts& f) {
              f.probes->arp["eth0"].replies[ip("192.0.2.100")] = {kVrid51Vmac};
              f.probes->vrrp["eth0"].adverts.clear();
            },
            "vrrp.vip_on_peer", Level::kOk, "no other host answers ARP for 192.0.2.100 on eth0",
            ""},
        Row{"listen_failed", kSite,
            [](Facts& f) {
              f.probes->vrrp["eth0"] = {.error = "socket(IPPROTO_VRRP): Operation not permitted"};
            },
            "vrrp.vrid_on_link", Level::kWarn, "could not listen on eth0", "as root"},
        Row{"listen_capped", std::string(kSlowInstance) + kDrService,
            [](Facts& f) { f.probes->vrrp["eth0"] = {.listened = kMaxVrrpListen}; },
            "vrrp.vrid_on_link", Level::kOk, "(fewer than 3 advert intervals of 5.0 s)", ""}),
    [](const testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

TEST(ProbeRulesTest, NothingWithoutProbes) {
  auto parsed = parse(kSite);
  Facts facts = probed();
  facts.probes.reset();
  EXPECT_THAT(diagnose_probes(parsed->config, parsed->files, facts), testing::IsEmpty());
}

TEST(ProbeRulesTest, AMissingInterfaceIsLeftToVrrpInterface) {
  auto parsed = parse(kInstance);
  Facts facts = probed();
  facts.interfaces.clear();
  facts.probes->vrrp["eth0"] = {.error = "no such interface"};
  EXPECT_THAT(diagnose_probes(parsed->config, parsed->files, facts), testing::IsEmpty());
  facts.interfaces = {{"eth0", {true, true, "up"}}};
  facts.probes->vrrp["eth0"] = {.error = "IP_ADD_MEMBERSHIP 224.0.0.18: No such device"};
  const auto findings = diagnose_probes(parsed->config, parsed->files, facts);
  ASSERT_THAT(findings, testing::SizeIs(1));
  EXPECT_EQ(findings[0].level, Level::kWarn);
  EXPECT_EQ(findings[0].fix, "");  // not a privilege: running as root would not help
}

TEST(ProbeRulesTest, NatRealServersAreNotArped) {
  auto parsed = parse(kNatService);
  for (const auto& f : diagnose_probes(parsed->config, parsed->files, probed()))
    ADD_FAILURE() << f.check << ": " << f.found;
}

TEST(ProbePlanTest, ArpsOnTheRealServersLinksAndListensOnTheInstancesInterfaces) {
  auto parsed = parse(kSite + kTunService + kDr6Service + kNatService);
  EXPECT_THAT(route_targets(parsed->config),
              testing::ElementsAre(ip("192.0.2.21"), ip("192.0.2.22"), ip("198.51.100.30")));
  const ProbePlan plan = probe_plan(parsed->config, probed().routes);
  ASSERT_THAT(plan.arp, testing::SizeIs(3));
  // The VRRP link: who answers for the instance's VIP (vrrp.vip_on_peer).
  EXPECT_THAT(plan.arp.at("eth0").targets, testing::ElementsAre(ip("192.0.2.100")));
  EXPECT_THAT(plan.arp.at("eth1").targets,
              testing::ElementsAre(ip("192.0.2.21"), ip("192.0.2.22"), ip("192.0.2.100")));
  // Behind a router only the router answers; the VIP is not asked for there.
  EXPECT_THAT(plan.arp.at("eth2").targets, testing::ElementsAre(ip("192.0.2.254")));
  ASSERT_THAT(plan.vrrp, testing::SizeIs(1));
  EXPECT_TRUE(plan.vrrp.at("eth0").ipv4);
  EXPECT_FALSE(plan.vrrp.at("eth0").ipv6);
  EXPECT_EQ(plan.vrrp.at("eth0").duration, std::chrono::milliseconds(3500));
}

TEST(ProbePlanTest, NoRouteOrALocalRealServerIsNotProbed) {
  auto parsed = parse(kDrService);
  const ProbePlan plan =
      probe_plan(parsed->config, {{ip("192.0.2.21"), {.interface = "lo", .local = true}}});
  EXPECT_TRUE(plan.empty());
}

TEST(ProbePlanTest, ListeningIsBounded) {
  auto parsed = parse(kSlowInstance);
  const ProbePlan plan = probe_plan(parsed->config, {});
  EXPECT_EQ(plan.vrrp.at("eth0").duration, kMaxVrrpListen);
  ASSERT_THAT(plan.arp, testing::SizeIs(1));
  EXPECT_THAT(plan.arp.at("eth0").targets, testing::ElementsAre(ip("192.0.2.100")));
}

TEST(ArpFrameTest, ProbeIsAnRfc5227ProbeAndRepliesParse) {
  const auto frame = build_arp_probe(kOwn, ip("192.0.2.100"));
  const std::vector<uint8_t> expected = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0,  0, 0x01, 0x08, 0x06,  // Ethernet
      0,    1,    0x08, 0x00, 6,    4,    0,    1,                              // request
      0x02, 0,    0,    0,    0,    0x01, 0,    0, 0, 0,                        // sender, 0.0.0.0
      0,    0,    0,    0,    0,    0,    192,  0, 2, 100};                     // target
  EXPECT_EQ(std::vector<uint8_t>(frame.begin(), frame.end()), expected);
  EXPECT_EQ(parse_arp_reply(frame), std::nullopt);  // a request is no reply

  // The reply a real server sends: op 2, its MAC, the address it answers for, to us.
  std::vector<uint8_t> reply = {
      0x02, 0,    0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x21, 0x08, 0x06, 0, 1,
      0x08, 0x00, 6, 4, 0, 2,    0x02, 0, 0, 0, 0, 0x21, 192,  0,    2, 100,
      0x02, 0,    0, 0, 0, 0x01, 0,    0, 0, 0, 0, 0,    0,    0};  // Ethernet padding
  auto parsed = parse_arp_reply(reply);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->sender, kRs21);
  EXPECT_EQ(parsed->address, ip("192.0.2.100"));
  EXPECT_EQ(to_string(parsed->sender), "02:00:00:00:00:21");

  auto not_arp = reply;
  not_arp[13] = 0x00;  // IPv4 ethertype
  EXPECT_EQ(parse_arp_reply(not_arp), std::nullopt);
  EXPECT_EQ(parse_arp_reply(std::span(reply).first(kArpFrameSize - 1)), std::nullopt);
}

std::vector<uint8_t> ipv4_datagram(std::vector<uint8_t> vrrp, size_t options = 0) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(0x45 + options / 4),
                              0xc0,
                              0,
                              0,
                              0,
                              1,
                              0,
                              0,
                              255,
                              112,
                              0,
                              0,
                              192,
                              0,
                              2,
                              66,
                              224,
                              0,
                              0,
                              18};
  out.insert(out.end(), options, 1);  // NOPs
  out.insert(out.end(), vrrp.begin(), vrrp.end());
  out[2] = static_cast<uint8_t>(out.size() >> 8);
  out[3] = static_cast<uint8_t>(out.size() & 0xff);
  return out;
}

TEST(VrrpParseTest, Version2WithPassword) {
  const std::vector<uint8_t> v2 = {0x21, 51, 200, 2,   1,   1,   0xab, 0xcd, 192, 0,   2, 100,
                                   192,  0,  2,   101, 's', 'e', 'c',  'r',  'e', 't', 0, 0};
  for (size_t options : {0u, 4u}) {
    auto advert = parse_vrrp_ipv4(ipv4_datagram(v2, options));
    ASSERT_TRUE(advert) << options;
    EXPECT_EQ(advert->source, ip("192.0.2.66"));
    EXPECT_EQ(advert->version, 2);
    EXPECT_EQ(advert->vrid, 51);
    EXPECT_EQ(advert->priority, 200);
    EXPECT_EQ(advert->auth_type, 1);
    EXPECT_EQ(advert->interval, std::chrono::seconds(1));
    EXPECT_THAT(advert->addresses, testing::ElementsAre(ip("192.0.2.100"), ip("192.0.2.101")));
    EXPECT_EQ(advert->auth_data, (std::array<uint8_t, 8>{'s', 'e', 'c', 'r', 'e', 't', 0, 0}));
  }
}

TEST(VrrpParseTest, Version3AndIpv6) {
  const std::vector<uint8_t> v3 = {0x31, 7, 100, 1, 0x00, 100, 0, 0, 192, 0, 2, 100};
  auto advert = parse_vrrp_ipv4(ipv4_datagram(v3));
  ASSERT_TRUE(advert);
  EXPECT_EQ(advert->version, 3);
  EXPECT_EQ(advert->interval, std::chrono::seconds(1));  // 100 centiseconds
  EXPECT_EQ(advert->auth_type, 0);

  std::vector<uint8_t> v6 = {0x31, 7, 100, 1, 0x00, 100, 0, 0};
  const IpAddress vip = ip("2001:db8::100");
  v6.insert(v6.end(), vip.bytes(), vip.bytes() + 16);
  auto advert6 = parse_vrrp_message(ip("fe80::66"), v6);
  ASSERT_TRUE(advert6);
  EXPECT_EQ(advert6->source, ip("fe80::66"));
  EXPECT_THAT(advert6->addresses, testing::ElementsAre(vip));
}

TEST(VrrpParseTest, RejectsWhatIsNoAdvert) {
  const std::vector<uint8_t> v3 = {0x31, 7, 100, 1, 0x00, 100, 0, 0, 192, 0, 2, 100};
  auto truncated = ipv4_datagram({v3.begin(), v3.end() - 2});
  EXPECT_EQ(parse_vrrp_ipv4(truncated), std::nullopt);
  auto other_protocol = ipv4_datagram(v3);
  other_protocol[9] = 51;  // AH
  EXPECT_EQ(parse_vrrp_ipv4(other_protocol), std::nullopt);
  auto bad_version = v3;
  bad_version[0] = 0x11;
  EXPECT_EQ(parse_vrrp_ipv4(ipv4_datagram(bad_version)), std::nullopt);
  auto bad_type = v3;
  bad_type[0] = 0x32;
  EXPECT_EQ(parse_vrrp_ipv4(ipv4_datagram(bad_type)), std::nullopt);
  EXPECT_EQ(parse_vrrp_ipv4(std::vector<uint8_t>(10, 0x45)), std::nullopt);
}

}  // namespace
}  // namespace vigil::doctor

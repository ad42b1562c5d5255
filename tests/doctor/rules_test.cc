// The doctor's rules as pure functions of a configuration and gathered facts: one row per rule
// outcome, no kernel.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "config/parser.h"
#include "doctor/doctor.h"

namespace vigil::doctor {
namespace {

using script_security::Verdict;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

constexpr const char* kNatService = R"(
virtual_server 192.0.2.10 80 {
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
  real_server 10.0.0.3 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kDrService = R"(
virtual_server 192.0.2.11 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  persistence_timeout 300
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kFullNatService = R"(
virtual_server 192.0.2.12 80 {
  lb_algo rr
  lvs_method FULLNAT
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kShService = R"(
virtual_server 192.0.2.13 80 {
  lb_algo sh
  lb_kind DR
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
constexpr const char* kNat6Service = R"(
virtual_server 2001:db8::10 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 2001:db8:1::2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";
// A VRRP pair's inside VIP: the NAT real servers' gateway.
constexpr const char* kInsideInstance = R"(
vrrp_instance VI_IN {
  interface eth1
  virtual_router_id 52
  priority 100
  virtual_ipaddress { 10.0.0.254/24 }
}
)";
constexpr const char* kInstance = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  track_interface { eth1 }
  virtual_ipaddress { 192.0.2.10/24 }
  notify_master /usr/local/bin/to-master.sh
}
)";
constexpr const char* kUnicast = R"(
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  unicast_src_ip 192.0.2.1
  unicast_peer { 192.0.2.2 }
  virtual_ipaddress { 192.0.2.20/24 }
}
)";
constexpr const char* kTrackScript = R"(
global_defs {
  enable_script_security
  script_user root
}
vrrp_script chk { script /usr/local/bin/chk.sh }
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 53
  priority 100
  track_script { chk }
  virtual_ipaddress { 192.0.2.30/24 }
}
)";

// A running vigild's view of one service: real servers "[10.0.0.N]:tcp:80" with these weights
// and connection counts.
LiveState live(const std::string& service,
               const std::vector<std::pair<int64_t, uint64_t>>& weights_and_connections) {
  LiveState state{.socket = "/run/vigil/vigild.ro.sock", .services = {}};
  LiveService s{.name = service, .real_servers = {}};
  int n = 1;
  for (const auto& [weight, connections] : weights_and_connections) {
    s.real_servers.push_back({.address = fmt::format("[10.0.0.{}]:tcp:80", n++),
                              .kernel_weight = weight,
                              .connections = connections});
  }
  state.services.push_back(s);
  return state;
}

// A host where everything is right; rows break one thing.
Facts healthy() {
  Facts f;
  f.sysctls = {{"net.ipv4.ip_forward", "1"},
               {"net.ipv6.conf.all.forwarding", "1"},
               {"net.ipv4.conf.all.rp_filter", "0"},
               {"net.ipv4.conf.eth0.rp_filter", "2"},
               {"net.ipv4.vs.expire_nodest_conn", "1"},
               {"net.ipv4.vs.expire_quiescent_template", "1"},
               {"net.netfilter.nf_conntrack_max", "1000"},
               {"net.netfilter.nf_conntrack_count", "10"}};
  f.interfaces = {{"eth0", {true, true, "up"}}, {"eth1", {true, true, "up"}}};
  f.modules = {{"ip_vs", ModuleState::kLoaded},
               {"ip_vs_wrr", ModuleState::kLoadable},
               {"ip_vs_rr", ModuleState::kBuiltin},
               {"nf_conntrack", ModuleState::kLoaded},
               {"nf_nat", ModuleState::kLoadable}};
  f.modules_dir = "/lib/modules/6.1.0";
  f.scripts = {{{"/usr/local/bin/to-master.sh", {}}, {Verdict::kSecure, "", "root"}},
               {{"/usr/local/bin/chk.sh", {}}, {Verdict::kSecure, "", "root"}}};
  f.local_addresses = {"192.0.2.1"};
  f.open_file_limit = 1024;
  f.ipvs_table = IpvsConnTable{.bits = 12, .connections = 1000};
  return f;
}

struct Row {
  const char* name;
  std::string config;
  std::function<void(Facts&)> change;
  const char* check;
  Level level;
  const char* found;     // a part of `found`
  const char* fix;       // a part of `fix`; "" for none
  const char* why = "";  // a part of `why` or `subject`
};

void PrintTo(const Row& row, std::ostream* out) {
  *out << row.name;
}

class RulesTest : public testing::TestWithParam<Row> {};

TEST_P(RulesTest, Decides) {
  const Row& row = GetParam();
  auto parsed = config::parse_text("site.conf", row.config);
  ASSERT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  Facts facts = healthy();
  if (row.change) row.change(facts);
  const auto findings = diagnose(parsed->config, parsed->files, facts);
  std::vector<const Finding*> matching;
  for (const auto& f : findings) {
    if (f.check == row.check && f.found.find(row.found) != std::string::npos)
      matching.push_back(&f);
  }
  ASSERT_EQ(matching.size(), 1u) << "findings for " << row.check << " containing '" << row.found
                                 << "'";
  const Finding& f = *matching.front();
  EXPECT_EQ(f.level, row.level) << f.found;
  if (std::string(row.fix).empty()) {
    EXPECT_EQ(f.fix, "");
  } else {
    EXPECT_THAT(f.fix, testing::HasSubstr(row.fix));
  }
  EXPECT_THAT(f.why + " " + f.subject + " " + f.location, testing::HasSubstr(row.why));
  // Every finding about the configuration names where in it.
  if (f.check != "resources.open_files") {
    EXPECT_THAT(f.location, testing::StartsWith("site.conf:"));
  }
  // What --fix may apply is what `fix` says, and never for an OK.
  for (const auto& fix : f.sysctl_fixes)
    EXPECT_THAT(f.fix, testing::HasSubstr(fix.name + "=" + fix.value));
  if (f.level == Level::kOk) {
    EXPECT_THAT(f.sysctl_fixes, testing::IsEmpty());
  }
}

TEST(TrafficSkew, OnlyForEqualWeightsOfAServiceInTheConfiguration) {
  auto parsed = config::parse_text("site.conf", std::string(kNatService) + kShService);
  ASSERT_TRUE(parsed->ok());
  const auto skew = [&](const LiveState& state) {
    Facts facts = healthy();
    facts.live = state;
    std::vector<Finding> found;
    for (auto& f : diagnose(parsed->config, parsed->files, facts))
      if (f.check == "traffic.skew") found.push_back(std::move(f));
    return found;
  };
  // Weights differ: the shares follow them.
  EXPECT_THAT(skew(live("[192.0.2.10]:tcp:80", {{1, 5}, {9, 95}})), testing::IsEmpty());
  // One real server serving: nothing to compare.
  EXPECT_THAT(skew(live("[192.0.2.10]:tcp:80", {{1, 100}, {0, 0}})), testing::IsEmpty());
  // A service vigild runs that the configuration does not have.
  EXPECT_THAT(skew(live("[192.0.2.99]:tcp:80", {{1, 100}, {1, 0}})), testing::IsEmpty());
  // A hashing scheduler explains it.
  const auto hashed = skew(live("[192.0.2.13]:tcp:80", {{1, 100}, {1, 0}}));
  ASSERT_EQ(hashed.size(), 1u);
  EXPECT_EQ(hashed[0].level, Level::kWarn);
  EXPECT_THAT(hashed[0].why, testing::HasSubstr("lb_algo sh explains it"));
  EXPECT_THAT(hashed[0].fix, testing::HasSubstr("hashing scheduler"));
  // No vigild: no finding.
  Facts facts = healthy();
  for (const auto& f : diagnose(parsed->config, parsed->files, facts))
    EXPECT_NE(f.check, "traffic.skew");
}

// The findings whose fix --fix applies, and what it sets: the director's own sysctls only.
TEST(SysctlFixes, ExactlyTheDirectorsSysctls) {
  struct Case {
    std::string config;
    std::function<void(Facts&)> change;
    const char* check;
    std::vector<SysctlFix> fixes;
  };
  const std::vector<Case> cases = {
      {kNatService,
       [](Facts& f) { f.sysctls["net.ipv4.ip_forward"] = "0"; },
       "kernel.ip_forward",
       {{"net.ipv4.ip_forward", "1"}}},
      {kNatService,
       [](Facts& f) { f.sysctls["net.ipv4.vs.expire_nodest_conn"] = "0"; },
       "kernel.expire_nodest_conn",
       {{"net.ipv4.vs.expire_nodest_conn", "1"}}},
      {kDrService,
       [](Facts& f) { f.sysctls["net.ipv4.vs.expire_quiescent_template"] = "0"; },
       "kernel.expire_quiescent_template",
       {{"net.ipv4.vs.expire_quiescent_template", "1"}}},
      {std::string(kInstance) + kNatService,
       [](Facts& f) { f.sysctls["net.ipv4.conf.eth0.rp_filter"] = "1"; },
       "kernel.rp_filter",
       {{"net.ipv4.conf.eth0.rp_filter", "2"}, {"net.ipv4.conf.all.rp_filter", "2"}}},
      {kNatService,
       [](Facts& f) { f.sysctls["net.netfilter.nf_conntrack_count"] = "1000"; },
       "kernel.conntrack_table",
       {{"net.netfilter.nf_conntrack_max", "2000"}}},
      {kFullNatService,
       [](Facts& f) {
         f.sysctls["net.ipv4.vs.conntrack"] = "0";
         f.live = LiveState{.socket = "/run/vigil/vigild.ro.sock"};
       },
       "kernel.vs_conntrack",
       {{"net.ipv4.vs.conntrack", "1"}}},
      // Not a sysctl: stays a printed command.
      {kNatService, [](Facts& f) { f.modules.erase("ip_vs"); }, "kernel.ip_vs", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.check);
    auto parsed = config::parse_text("site.conf", c.config);
    ASSERT_TRUE(parsed->ok());
    Facts facts = healthy();
    c.change(facts);
    bool seen = false;
    for (const auto& f : diagnose(parsed->config, parsed->files, facts)) {
      if (f.check != c.check) continue;
      seen = true;
      EXPECT_NE(f.level, Level::kOk);
      EXPECT_EQ(f.sysctl_fixes, c.fixes);
    }
    EXPECT_TRUE(seen);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Doctor, RulesTest,
    testing::Values(
        Row{"ip_forward_on", kNatService, nullptr, "kernel.ip_forward", Level::kOk,
            "net.ipv4.ip_forward = 1", "", "virtual_server 192.0.2.10:80"},
        Row{"ip_forward_off", kNatService, [](Facts& f) { f.sysctls["net.ipv4.ip_forward"] = "0"; },
            "kernel.ip_forward", Level::kFail, "net.ipv4.ip_forward = 0",
            "sysctl -w net.ipv4.ip_forward=1", "virtual_server 192.0.2.10:80"},
        Row{"ip_forward_unreadable", kNatService,
            [](Facts& f) { f.sysctls.erase("net.ipv4.ip_forward"); }, "kernel.ip_forward",
            Level::kWarn, "cannot be read", ""},
        Row{"ipv6_forwarding_off", kNat6Service,
            [](Facts& f) { f.sysctls["net.ipv6.conf.all.forwarding"] = "0"; },
            "kernel.ipv6_forwarding", Level::kFail, "net.ipv6.conf.all.forwarding = 0",
            "sysctl -w net.ipv6.conf.all.forwarding=1", "[2001:db8::10]:80"},
        Row{"ip_vs_loaded", kNatService, nullptr, "kernel.ip_vs", Level::kOk, "ip_vs loaded", ""},
        Row{"ip_vs_missing", kNatService,
            [](Facts& f) { f.modules["ip_vs"] = ModuleState::kMissing; }, "kernel.ip_vs",
            Level::kFail, "not in /lib/modules/6.1.0/modules.dep", "modprobe ip_vs",
            "cannot install"},
        Row{"ip_vs_no_module_index", kNatService,
            [](Facts& f) {
              f.modules["ip_vs"] = ModuleState::kMissing;
              f.module_index = false;
            },
            "kernel.ip_vs", Level::kFail, "no /lib/modules/6.1.0/modules.dep", "modprobe ip_vs"},
        Row{"scheduler_loadable", kNatService, nullptr, "kernel.scheduler", Level::kOk,
            "ip_vs_wrr loadable", "", "lb_algo wrr"},
        Row{"scheduler_missing", kNatService, [](Facts& f) { f.modules.erase("ip_vs_wrr"); },
            "kernel.scheduler", Level::kFail, "ip_vs_wrr is not loaded", "modprobe ip_vs_wrr",
            "lb_algo wrr"},
        Row{"scheduler_builtin", kDrService, nullptr, "kernel.scheduler", Level::kOk,
            "ip_vs_rr built in", "", "lb_algo rr"},
        Row{"expire_nodest_off", kNatService,
            [](Facts& f) { f.sysctls["net.ipv4.vs.expire_nodest_conn"] = "0"; },
            "kernel.expire_nodest_conn", Level::kWarn, "= 0",
            "sysctl -w net.ipv4.vs.expire_nodest_conn=1", "hang"},
        Row{"expire_nodest_on", kNatService, nullptr, "kernel.expire_nodest_conn", Level::kOk,
            "= 1", ""},
        Row{"expire_quiescent_off", kDrService,
            [](Facts& f) { f.sysctls["net.ipv4.vs.expire_quiescent_template"] = "0"; },
            "kernel.expire_quiescent_template", Level::kWarn, "= 0",
            "net.ipv4.vs.expire_quiescent_template=1", "persistence_timeout 300"},
        Row{"expire_quiescent_on", kDrService, nullptr, "kernel.expire_quiescent_template",
            Level::kOk, "= 1", ""},
        Row{"rp_filter_strict", std::string(kInstance) + kNatService,
            [](Facts& f) { f.sysctls["net.ipv4.conf.eth0.rp_filter"] = "1"; }, "kernel.rp_filter",
            Level::kWarn, "rp_filter on eth0 = 1", "net.ipv4.conf.eth0.rp_filter=2"},
        Row{"rp_filter_all_strict", std::string(kInstance) + kNatService,
            [](Facts& f) {
              f.sysctls["net.ipv4.conf.eth0.rp_filter"] = "0";
              f.sysctls["net.ipv4.conf.all.rp_filter"] = "1";
            },
            "kernel.rp_filter", Level::kWarn, "effective 1", "rp_filter=2"},
        Row{"rp_filter_loose", std::string(kInstance) + kNatService, nullptr, "kernel.rp_filter",
            Level::kOk, "effective 2", ""},
        Row{"conntrack_room", kNatService, nullptr, "kernel.conntrack_table", Level::kOk,
            "nf_conntrack_count = 10 of net.netfilter.nf_conntrack_max = 1000 (1%)", ""},
        Row{"conntrack_nearly_full", kNatService,
            [](Facts& f) { f.sysctls["net.netfilter.nf_conntrack_count"] = "900"; },
            "kernel.conntrack_table", Level::kWarn, "(90%)",
            "sysctl -w net.netfilter.nf_conntrack_max=2000", "over 90% full"},
        Row{"conntrack_just_below_warning", kDrService,
            [](Facts& f) { f.sysctls["net.netfilter.nf_conntrack_count"] = "899"; },
            "kernel.conntrack_table", Level::kOk, "(89%)", ""},
        Row{"conntrack_full", kDrService,
            [](Facts& f) { f.sysctls["net.netfilter.nf_conntrack_count"] = "1000"; },
            "kernel.conntrack_table", Level::kFail, "(100%)",
            "net.netfilter.nf_conntrack_max=2000", "table full, dropping packet"},
        Row{"fullnat_conntrack_loaded", kFullNatService, nullptr, "kernel.nf_conntrack",
            Level::kOk, "nf_conntrack loaded", ""},
        Row{"fullnat_nat_loadable", kFullNatService, nullptr, "kernel.nf_conntrack", Level::kOk,
            "nf_nat loadable", ""},
        Row{"fullnat_conntrack_missing", kFullNatService,
            [](Facts& f) { f.modules.erase("nf_conntrack"); }, "kernel.nf_conntrack",
            Level::kFail, "nf_conntrack is not loaded", "modprobe nf_conntrack", "masquerade"},
        Row{"skew_unexplained", kNatService,
            [](Facts& f) { f.live = live("[192.0.2.10]:tcp:80", {{1, 95}, {1, 5}}); },
            "traffic.skew", Level::kWarn, "95 of 100 connections (95%) went to [10.0.0.1]:tcp:80",
            "vigilctl services", "nothing in the configuration explains it"},
        Row{"skew_persistence", kDrService,
            [](Facts& f) { f.live = live("[192.0.2.11]:tcp:80", {{3, 0}, {3, 40}, {3, 2}}); },
            "traffic.skew", Level::kWarn, "40 of 42 connections (95%) went to [10.0.0.2]:tcp:80",
            "persistence_timeout", "persistence_timeout 300 explains it"},
        Row{"skew_spread", kNatService,
            [](Facts& f) { f.live = live("[192.0.2.10]:tcp:80", {{1, 79}, {1, 21}}); },
            "traffic.skew", Level::kOk, "79 of 100 connections (79%)", "", "spread"},
        Row{"skew_too_few", kNatService,
            [](Facts& f) { f.live = live("[192.0.2.10]:tcp:80", {{1, 19}, {1, 0}}); },
            "traffic.skew", Level::kOk, "19 of 19", "", "too few connections to judge"},
        Row{"skew_drained_server_left_out", kNatService,
            [](Facts& f) { f.live = live("[192.0.2.10]:tcp:80", {{1, 50}, {1, 50}, {0, 900}}); },
            "traffic.skew", Level::kOk, "50 of 100 connections (50%)", "", "spread"},
        Row{"interface_up", kInstance, nullptr, "vrrp.interface", Level::kOk,
            "interface eth0 is up", "", "vrrp_instance VI_1"},
        Row{"interface_missing", kInstance, [](Facts& f) { f.interfaces.erase("eth0"); },
            "vrrp.interface", Level::kFail, "interface eth0: no such interface", "ip link show",
            "FAULT"},
        Row{"interface_down", kInstance,
            [](Facts& f) {
              f.interfaces["eth0"] = {false, false, "down"};
            },
            "vrrp.interface", Level::kWarn, "interface eth0 is down", "ip link set dev eth0 up"},
        Row{"interface_no_carrier", kInstance,
            [](Facts& f) {
              f.interfaces["eth0"] = {true, false, "lowerlayerdown"};
            },
            "vrrp.interface", Level::kWarn, "no carrier", "cable"},
        Row{"track_interface_missing", kInstance, [](Facts& f) { f.interfaces.erase("eth1"); },
            "vrrp.interface", Level::kFail, "track_interface eth1: no such interface",
            "ip link show", "tracked"},
        Row{"unicast_src_local", kUnicast, nullptr, "vrrp.source_address", Level::kOk,
            "192.0.2.1 is an address", ""},
        Row{"unicast_src_foreign", kUnicast, [](Facts& f) { f.local_addresses.clear(); },
            "vrrp.source_address", Level::kFail, "192.0.2.1 is not an address",
            "ip address add 192.0.2.1"},
        Row{"notify_secure", kInstance, nullptr, "scripts.script", Level::kOk,
            "to-master.sh runs as root", ""},
        Row{"notify_missing", kInstance,
            [](Facts& f) {
              f.scripts[{"/usr/local/bin/to-master.sh", {}}] = {Verdict::kNotFound, "", "root"};
            },
            "scripts.script", Level::kFail, "to-master.sh: not found",
            "install /usr/local/bin/to-master.sh", "vrrp_instance VI_1"},
        Row{"notify_not_executable", kInstance,
            [](Facts& f) {
              f.scripts[{"/usr/local/bin/to-master.sh", {}}] = {Verdict::kNotExecutable, "",
                                                                "root"};
            },
            "scripts.script", Level::kFail, "not executable by root",
            "chmod 755 /usr/local/bin/to-master.sh"},
        Row{"notify_insecure_without_security", kInstance,
            [](Facts& f) {
              f.scripts[{"/usr/local/bin/to-master.sh", {}}] = {
                  Verdict::kRefused, "/usr/local/bin is writable by others", "root"};
            },
            "scripts.script", Level::kWarn, "writable by others", "chmod go-w",
            "enable_script_security would refuse"},
        Row{"track_script_refused", kTrackScript,
            [](Facts& f) {
              f.scripts[{"/usr/local/bin/chk.sh", {}}] = {
                  Verdict::kRefused, "/usr/local/bin/chk.sh is not owned by root", "root"};
            },
            "scripts.script", Level::kFail, "not owned by root",
            "chown root:", "counts as failing"},
        Row{"conn_tab_roomy", kNatService, nullptr, "kernel.ipvs_conn_tab", Level::kOk,
            "conn_tab_bits 12 (4096 buckets), 1000 connections now", "",
            "at most 4 connections per bucket"},
        Row{"conn_tab_crowded", kNatService, [](Facts& f) { f.ipvs_table->connections = 100000; },
            "kernel.ipvs_conn_tab", Level::kWarn,
            "conn_tab_bits 12 (4096 buckets), 100000 connections now",
            "echo 'options ip_vs conn_tab_bits=17' > /etc/modprobe.d/ip_vs.conf",
            "about 24 connections per bucket"},
        Row{"conn_tab_at_the_limit", kNatService,
            [](Facts& f) { f.ipvs_table->connections = 16384; }, "kernel.ipvs_conn_tab", Level::kOk,
            "16384 connections now", ""},
        Row{"conn_tab_capped_count", kNatService,
            [](Facts& f) { f.ipvs_table->connections = kConnCountCap; }, "kernel.ipvs_conn_tab",
            Level::kWarn, "at least 1048576 connections now", "conn_tab_bits=20"},
        Row{"conn_tab_uncounted", kNatService, [](Facts& f) { f.ipvs_table->connections.reset(); },
            "kernel.ipvs_conn_tab", Level::kOk, "/proc/net/ip_vs_conn cannot be read", ""},
        Row{"nat_replies_come_back", kNatService,
            [](Facts& f) {
              f.ipvs_table->tcp_by_destination[{ip("10.0.0.2"), 80}] = {.syn_recv = 1,
                                                                         .past_syn = 9};
            },
            "rs.nat_return_path", Level::kOk, "9 of 10 connections to 10.0.0.2:80 got past SYN_RECV",
            "", "come back through the director"},
        Row{"nat_replies_go_elsewhere", kNatService,
            [](Facts& f) {
              f.ipvs_table->tcp_by_destination[{ip("10.0.0.3"), 80}] = {.syn_recv = 3};
            },
            "rs.nat_return_path", Level::kFail,
            "3 connections to 10.0.0.3:80 are in SYN_RECV and none got further",
            "on 10.0.0.3: ip route replace default via THIS_DIRECTOR'S_ADDRESS_ON_ITS_NETWORK",
            "real_server 10.0.0.3:80"},
        Row{"nat_gateway_is_the_inside_vip", std::string(kNatService) + kInsideInstance,
            [](Facts& f) {
              f.ipvs_table->tcp_by_destination[{ip("10.0.0.3"), 80}] = {.syn_recv = 4};
            },
            "rs.nat_return_path", Level::kFail, "4 connections to 10.0.0.3:80",
            "ip route replace default via 10.0.0.254 (vrrp_instance VI_IN's VIP)"},
        Row{"nat_two_stuck_are_not_enough", kNatService,
            [](Facts& f) {
              f.ipvs_table->tcp_by_destination[{ip("10.0.0.3"), 80}] = {.syn_recv = 2};
            },
            "rs.nat_return_path", Level::kOk, "0 of 2 connections to 10.0.0.3:80", ""},
        Row{"vs_conntrack_on", kFullNatService,
            [](Facts& f) { f.sysctls["net.ipv4.vs.conntrack"] = "1"; }, "kernel.vs_conntrack",
            Level::kOk, "net.ipv4.vs.conntrack = 1", "", "FULLNAT's source NAT sees them"},
        Row{"vs_conntrack_off_before_vigild", kFullNatService,
            [](Facts& f) { f.sysctls["net.ipv4.vs.conntrack"] = "0"; }, "kernel.vs_conntrack",
            Level::kOk, "net.ipv4.vs.conntrack = 0", "", "vigild sets it to 1"},
        Row{"vs_conntrack_reset_under_vigild", kFullNatService,
            [](Facts& f) {
              f.sysctls["net.ipv4.vs.conntrack"] = "0";
              f.live = LiveState{.socket = "/run/vigil/vigild.ro.sock"};
            },
            "kernel.vs_conntrack", Level::kFail, "net.ipv4.vs.conntrack = 0",
            "sysctl -w net.ipv4.vs.conntrack=1", "something set it back"},
        Row{"open_files_enough", kNatService, nullptr, "resources.open_files", Level::kOk, "1024",
            ""},
        Row{"open_files_tight", kNatService, [](Facts& f) { f.open_file_limit = 100; },
            "resources.open_files", Level::kWarn, "100", "LimitNOFILE=132"},
        Row{"open_files_short", kNatService, [](Facts& f) { f.open_file_limit = 20; },
            "resources.open_files", Level::kFail, "20", "LimitNOFILE=132", "EMFILE"}),
    [](const testing::TestParamInfo<Row>& info) { return std::string(info.param.name); });

// Checks appear only where the configuration makes them relevant.
struct Relevance {
  const char* name;
  std::string config;
  std::vector<std::string> absent;
};

class RelevanceTest : public testing::TestWithParam<Relevance> {};

TEST_P(RelevanceTest, OnlyWhereRelevant) {
  const Relevance& row = GetParam();
  auto parsed = config::parse_text("site.conf", row.config);
  ASSERT_TRUE(parsed->ok()) << parsed->diagnostics.format(parsed->files);
  Facts facts = healthy();
  facts.sysctls["net.ipv4.ip_forward"] = "0";  // would fail if it were checked
  for (const auto& f : diagnose(parsed->config, parsed->files, facts)) {
    for (const auto& check : row.absent)
      EXPECT_NE(f.check, check) << f.found;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Doctor, RelevanceTest,
    testing::Values(
        Relevance{"dr_needs_no_forwarding", kDrService, {"kernel.ip_forward", "kernel.rp_filter"}},
        Relevance{"vrrp_only_needs_no_ipvs",
                  kInstance,
                  {"kernel.ip_vs", "kernel.scheduler", "kernel.ip_forward",
                   "kernel.expire_nodest_conn", "resources.open_files", "kernel.conntrack_table",
                   "kernel.nf_conntrack", "kernel.ipvs_conn_tab"}},
        Relevance{"no_persistence_no_quiescent", kNatService, {"kernel.expire_quiescent_template"}},
        Relevance{"nat_needs_no_fullnat_modules",
                  kNatService,
                  {"kernel.nf_conntrack", "kernel.vs_conntrack"}},
        Relevance{"ipv6_nat_not_ipv4", kNat6Service, {"kernel.ip_forward"}}),
    [](const testing::TestParamInfo<Relevance>& info) { return std::string(info.param.name); });

// The gatherer asks the host for exactly what the configuration wants.
class FakeHost final : public Host {
 public:
  std::map<std::string, std::string> sysctls;
  std::map<std::string, InterfaceState> links;
  mutable std::vector<std::string> asked;
  std::optional<std::string> sysctl(const std::string& name) const override {
    asked.push_back(name);
    auto it = sysctls.find(name);
    return it == sysctls.end() ? std::nullopt : std::optional(it->second);
  }
  std::optional<InterfaceState> interface(const std::string& name) const override {
    auto it = links.find(name);
    return it == links.end() ? std::nullopt : std::optional(it->second);
  }
  ModuleState module(const std::string& name) const override {
    return name == "ip_vs" ? ModuleState::kMissing : ModuleState::kLoadable;
  }
  std::string modules_dir() const override { return "/lib/modules/test"; }
  bool module_index() const override { return false; }
  ScriptState script(const ScriptRef& /*script*/,
                     const config::GlobalDefs& /*global*/) const override {
    return {Verdict::kNotExecutable, "", "root"};
  }
  std::set<std::string> local_addresses() const override { return {"192.0.2.1"}; }
  std::optional<uint64_t> open_file_limit() const override { return 4096; }
  FirewallRuleset firewall() const override { return {.error = "nft: command not found"}; }
  IpvsConnTable ipvs_conn_table() const override { return {.bits = 12, .connections = 70000}; }
  std::optional<Route> route(const IpAddress& /*destination*/) const override {
    ADD_FAILURE() << "route() without probes";
    return std::nullopt;
  }
  ProbeResults probe(const ProbePlan& /*plan*/) const override {
    ADD_FAILURE() << "probe() without probes";
    return {};
  }
};

TEST(GatherTest, AsksForWhatTheConfigurationNeeds) {
  auto parsed = config::parse_text("site.conf", kInstance + std::string(kNatService));
  ASSERT_TRUE(parsed->ok());
  FakeHost host;
  host.sysctls = {{"net.ipv4.ip_forward", "0"}};
  host.links = {{"eth0", {true, true, "up"}}};
  const Wants w = wants(parsed->config);
  EXPECT_THAT(w.interfaces, testing::ElementsAre("eth0", "eth1"));
  EXPECT_THAT(w.modules, testing::ElementsAre("ip_vs", "ip_vs_wrr"));
  EXPECT_FALSE(w.local_addresses);
  EXPECT_FALSE(w.probes);
  EXPECT_TRUE(w.firewall);
  const Facts facts = gather(parsed->config, w, host);
  EXPECT_EQ(facts.sysctls.at("net.ipv4.ip_forward"), "0");
  EXPECT_EQ(facts.interfaces.count("eth1"), 0u);  // missing on the host
  EXPECT_EQ(facts.modules.at("ip_vs"), ModuleState::kMissing);
  EXPECT_EQ(facts.modules_dir, "/lib/modules/test");
  EXPECT_FALSE(facts.module_index);
  EXPECT_EQ(facts.open_file_limit, 4096u);
  ASSERT_EQ(facts.scripts.size(), 1u);
  EXPECT_EQ(facts.scripts.begin()->first.program, "/usr/local/bin/to-master.sh");

  const auto findings = diagnose(parsed->config, parsed->files, facts);
  auto level_of = [&](const std::string& check, const std::string& part) {
    for (const auto& f : findings)
      if (f.check == check && f.found.find(part) != std::string::npos) return f.level;
    ADD_FAILURE() << "no " << check << " finding with " << part;
    return Level::kOk;
  };
  EXPECT_EQ(level_of("kernel.ip_forward", "= 0"), Level::kFail);
  EXPECT_EQ(level_of("kernel.ip_vs", "ip_vs"), Level::kFail);
  EXPECT_EQ(level_of("vrrp.interface", "eth1"), Level::kFail);
  EXPECT_EQ(level_of("vrrp.interface", "eth0"), Level::kOk);
  EXPECT_EQ(level_of("scripts.script", "to-master"), Level::kFail);
  EXPECT_EQ(level_of("vrrp.firewall", "nft: command not found"), Level::kWarn);
  EXPECT_EQ(level_of("kernel.ipvs_conn_tab", "70000 connections"), Level::kWarn);
}

TEST(IpvsConnLineTest, ReadsTheKernelsLines) {
  EXPECT_EQ(parse_ipvs_conn_line(
                "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData"),
            std::nullopt);
  const auto v4 =
      parse_ipvs_conn_line("TCP 0A000102 9C40 0A000164 0050 0A00020B 1F90 SYN_RECV         54");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->protocol, "TCP");
  EXPECT_EQ(v4->destination, ip("10.0.2.11"));
  EXPECT_EQ(v4->destination_port, 8080);
  EXPECT_EQ(v4->state, "SYN_RECV");
  const auto v6 = parse_ipvs_conn_line(
      "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 9C40 2001:0db8:0000:0000:0000:0000:0000:0064 "
      "0050 2001:0db8:0001:0000:0000:0000:0000:000b 0050 ESTABLISHED     899");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->destination, ip("2001:db8:1::b"));
  EXPECT_EQ(v6->state, "ESTABLISHED");
  EXPECT_EQ(parse_ipvs_conn_line("TCP 0A000102 9C40 0A000164 0050 0A0002 0050 SYN_RECV 5"),
            std::nullopt);  // a short address
  EXPECT_EQ(parse_ipvs_conn_line("TCP 0A000102 9C40 0A000164 0050 0A00020B 10000 NONE 5"),
            std::nullopt);  // a port out of range
  EXPECT_EQ(parse_ipvs_conn_line("TCP 0A000102 9C40"), std::nullopt);

  IpvsConnTable table;
  count_ipvs_conn_line("TCP 0A000102 9C40 0A000164 0050 0A00020B 0050 SYN_RECV 54", table);
  count_ipvs_conn_line("TCP 0A000102 9C41 0A000164 0050 0A00020B 0050 TIME_WAIT 54", table);
  count_ipvs_conn_line("UDP 0A000102 9C42 0A000164 0035 0A00020B 0035 UDP 54", table);
  ASSERT_EQ(table.tcp_by_destination.size(), 1U);
  EXPECT_EQ(table.tcp_by_destination.at({ip("10.0.2.11"), 80}),
            (DestinationConnStates{.syn_recv = 1, .past_syn = 1}));
}

TEST(SysctlPathTest, KeepsInterfaceNamesWhole) {
  const std::pair<std::string, std::string> rows[] = {
      {"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"},
      {"net.ipv4.vs.expire_nodest_conn", "/proc/sys/net/ipv4/vs/expire_nodest_conn"},
      {"net.ipv4.conf.eth0.rp_filter", "/proc/sys/net/ipv4/conf/eth0/rp_filter"},
      {"net.ipv4.conf.eth0.100.rp_filter", "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
      {"net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding"},
      {"net.ipv4.conf.../../etc.rp_filter", ""},
      {"net/ipv4/ip_forward", ""},
      {"", ""},
  };
  for (const auto& [name, path] : rows)
    EXPECT_EQ(sysctl_path(name), path) << name;
}

}  // namespace
}  // namespace vigil::doctor

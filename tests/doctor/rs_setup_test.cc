// vigilctl rs-setup as pure functions: configuration + service + mode + format -> text, and
// a Plan + this host's facts -> verdicts. No kernel.
#include "doctor/rs_setup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/parser.h"

namespace vigil::doctor::rs_setup {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kConfig = R"(
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.80/24
    10.0.0.254/24
  }
}
virtual_server 192.0.2.80 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 2001:db8::1 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 2001:db8:1::2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 192.0.2.81 80 {
  lb_algo rr
  lvs_method TUN
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 2001:db8::2 80 {
  lb_algo rr
  lvs_method TUN
  protocol TCP
  real_server 2001:db8:1::2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 192.0.2.82 80 {
  lb_algo rr
  lvs_method TUN type gue port 6080
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 192.0.2.83 80 {
  lb_algo rr
  lvs_method TUN type gre
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 192.0.2.84 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server 2001:db8::4 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 2001:db8:1::2 80 { TCP_CHECK { connect_timeout 3 } }
}
virtual_server fwmark 7 {
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.2 {
    TCP_CHECK {
      connect_timeout 3
      connect_port 80
    }
  }
}
virtual_server_group web {
  192.0.2.90-91 80
}
virtual_server group web {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 10.0.0.2 80 { TCP_CHECK { connect_timeout 3 } }
}
)";

const config::Config& configuration() {
  static const auto parsed = config::parse_text("rs.conf", kConfig);
  EXPECT_FALSE(parsed->diagnostics.has_errors()) << parsed->diagnostics.format(parsed->files);
  return parsed->config;
}

Plan plan_for(const std::string& service, std::optional<Mode> mode = std::nullopt,
              std::vector<IpAddress> vips = {}) {
  auto result = plan(&configuration(), {.service = service, .mode = mode, .vips = vips});
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? *result : Plan{};
}

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// --- rendering: mode x family x format -> fragments --------------------------------------------

struct RenderRow {
  const char* service;
  std::optional<Mode> mode;
  Format format;
  std::vector<std::string> present;
  std::vector<std::string> absent;
};

class RenderTest : public ::testing::TestWithParam<RenderRow> {};

TEST_P(RenderTest, HasTheFragments) {
  const auto& row = GetParam();
  const std::string text = render(plan_for(row.service, row.mode), row.format);
  for (const auto& fragment : row.present)
    EXPECT_THAT(text, HasSubstr(fragment)) << row.service;
  for (const auto& fragment : row.absent)
    EXPECT_THAT(text, Not(HasSubstr(fragment))) << row.service;
}

const std::string kArpIgnore = "sysctl -qw net.ipv4.conf.all.arp_ignore=1";
const std::string kArpAnnounce = "sysctl -qw net.ipv4.conf.all.arp_announce=2";

INSTANTIATE_TEST_SUITE_P(
    Rows, RenderTest,
    ::testing::Values(
        // DR, IPv4.
        RenderRow{"192.0.2.80:80",
                  std::nullopt,
                  Format::kShell,
                  {"#!/bin/sh", "set -e", kArpIgnore, kArpAnnounce,
                   "ip address replace 192.0.2.80/32 dev lo", "[192.0.2.80]:tcp:80, dr"},
                  {"rp_filter", "modprobe", "tunl0"}},
        RenderRow{"[192.0.2.80]:tcp:80",
                  std::nullopt,
                  Format::kSysctl,
                  {"### /etc/sysctl.d/90-vigil-rs.conf", "net.ipv4.conf.all.arp_ignore = 1",
                   "net.ipv4.conf.all.arp_announce = 2", "Part 2: not sysctls",
                   "inside the existing `iface lo inet loopback`",
                   "    up ip address replace 192.0.2.80/32 dev lo"},
                  {"sysctl -qw", "modules-load.d"}},
        RenderRow{
            "192.0.2.80:80",
            std::nullopt,
            Format::kNetworkd,
            {"### /etc/systemd/network/90-vigil-rs-lo.network", "[Match]\nName=lo",
             "Address=127.0.0.1/8", "Address=192.0.2.80/32", "net.ipv4.conf.all.arp_ignore = 1"},
            {"sysctl -qw", ".netdev"}},
        // DR, IPv6: /128 on lo, no ARP sysctl.
        RenderRow{"[2001:db8::1]:80",
                  std::nullopt,
                  Format::kShell,
                  {"ip address replace 2001:db8::1/128 dev lo", "neighbour solicitations"},
                  {"arp_ignore", "arp_announce"}},
        RenderRow{"[2001:db8::1]:80",
                  std::nullopt,
                  Format::kNetworkd,
                  {"Address=2001:db8::1/128", "Name=lo"},
                  {"arp_ignore"}},
        // TUN, IPv4 (ipip): tunl0, rp_filter on it and all, ARP as for DR.
        RenderRow{"192.0.2.81:80",
                  std::nullopt,
                  Format::kShell,
                  {"modprobe ipip", "sysctl -qw net.ipv4.conf.all.rp_filter=0",
                   "sysctl -qw net.ipv4.conf.tunl0.rp_filter=0", kArpIgnore, kArpAnnounce,
                   "ip link set tunl0 up", "ip address replace 192.0.2.81/32 dev tunl0",
                   "the decapsulated packet's source is the client", "tun (ipip)"},
                  {"dev lo", "fou"}},
        RenderRow{
            "192.0.2.81:80",
            std::nullopt,
            Format::kSysctl,
            {"net.ipv4.conf.tunl0.rp_filter = 0", "### /etc/modules-load.d/90-vigil-rs.conf\nipip",
             "auto tunl0", "    up ip address replace 192.0.2.81/32 dev tunl0"},
            {}},
        RenderRow{"192.0.2.81:80",
                  std::nullopt,
                  Format::kNetworkd,
                  {"90-vigil-rs-tunl0.network", "Name=tunl0", "Address=192.0.2.81/32",
                   "LinkLocalAddressing=no", "net.ipv4.conf.all.rp_filter = 0"},
                  {}},
        // TUN, IPv6: ip6tnl0, no rp_filter sysctl, no ARP.
        RenderRow{"[2001:db8::2]:80",
                  std::nullopt,
                  Format::kShell,
                  {"modprobe ip6_tunnel", "ip link set ip6tnl0 up",
                   "ip address replace 2001:db8::2/128 dev ip6tnl0", "no rp_filter sysctl"},
                  {"arp_ignore", "sysctl -qw"}},
        RenderRow{"[2001:db8::2]:80",
                  std::nullopt,
                  Format::kNetworkd,
                  {"90-vigil-rs-ip6tnl0.network", "Address=2001:db8::2/128", "ip6_tunnel"},
                  {}},
        // TUN type gue port 6080: the fou port, then tunl0.
        RenderRow{"192.0.2.82:80",
                  std::nullopt,
                  Format::kShell,
                  {"modprobe fou",
                   "ip fou show 2>/dev/null | grep -qx 'port 6080 gue' || ip fou add port 6080 gue",
                   "ip address replace 192.0.2.82/32 dev tunl0", "tun (gue)"},
                  {}},
        RenderRow{"192.0.2.82:80",
                  std::nullopt,
                  Format::kNetworkd,
                  {"Kind=fou", "Encapsulation=GenericUDPEncapsulation", "Port=6080"},
                  {}},
        RenderRow{"192.0.2.82:80",
                  std::nullopt,
                  Format::kSysctl,
                  {"run `ip fou add port 6080 gue` at boot", "fou\n"},
                  {}},
        // TUN type gre: gre0.
        RenderRow{"192.0.2.83:80",
                  std::nullopt,
                  Format::kShell,
                  {"modprobe ip_gre", "ip address replace 192.0.2.83/32 dev gre0", "GRE"},
                  {"tunl0"}},
        // --mode overrides lb_kind.
        RenderRow{"192.0.2.80:80",
                  Mode::kTun,
                  Format::kShell,
                  {"ip address replace 192.0.2.80/32 dev tunl0"},
                  {"dev lo"}},
        // NAT: notes only, a valid script that does nothing; the route via the VRRP address.
        RenderRow{"192.0.2.84:80",
                  std::nullopt,
                  Format::kShell,
                  {"#!/bin/sh", "NAT: nothing to set up", "ip route replace default via 10.0.0.254",
                   "exit 0\n"},
                  {"sysctl -qw", "ip address"}},
        RenderRow{"[2001:db8::4]:80",
                  std::nullopt,
                  Format::kSysctl,
                  {"NAT: nothing to set up", "`ip route replace default via DIRECTOR_ADDRESS`"},
                  {"Part 1"}},
        RenderRow{"192.0.2.84:80",
                  Mode::kFullNat,
                  Format::kNetworkd,
                  {"FULLNAT: nothing to set up"},
                  {"Address=", "[Match]"}},
        // A group: its addresses.
        RenderRow{"web",
                  std::nullopt,
                  Format::kShell,
                  {"ip address replace 192.0.2.90/32 dev lo",
                   "ip address replace 192.0.2.91/32 dev lo", "[web]:0"},
                  {}}));

TEST(RsSetupShell, SetsTheSysctlsBeforeTheAddress) {
  // An address added first is answered for on ARP until arp_ignore is set.
  const std::string text = render(plan_for("192.0.2.80:80"), Format::kShell);
  EXPECT_LT(text.find(kArpIgnore), text.find("ip address replace"));
  EXPECT_LT(text.find(kArpAnnounce), text.find("ip address replace"));
}

TEST(RsSetupShell, LoadsTheModuleBeforeTheTunnelSysctl) {
  const std::string text = render(plan_for("192.0.2.81:80"), Format::kShell);
  EXPECT_LT(text.find("modprobe ipip"), text.find("net.ipv4.conf.tunl0.rp_filter"));
}

// --- the plan's errors and VIPs ----------------------------------------------------------------

TEST(RsSetupPlan, UnknownServiceListsTheKnownOnes) {
  auto result = plan(&configuration(), {.service = "192.0.2.99:80"});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("no virtual server 192.0.2.99:80"));
  EXPECT_THAT(result.error().message, HasSubstr("192.0.2.80:80"));
  EXPECT_THAT(result.error().message, HasSubstr("fwmark:7"));
}

TEST(RsSetupPlan, GroupByKeyOrName) {
  EXPECT_EQ(plan_for("web:0").vips, (std::vector<IpAddress>{ip("192.0.2.90"), ip("192.0.2.91")}));
  EXPECT_EQ(plan_for("web").service, "[web]:0");
}

TEST(RsSetupPlan, FwmarkNeedsVip) {
  auto result = plan(&configuration(), {.service = "FWM 7"});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("--vip"));
  const Plan with = plan_for("FWM 7", std::nullopt, {ip("192.0.2.70")});
  EXPECT_EQ(with.mode, Mode::kDr);
  ASSERT_EQ(with.addresses.size(), 1U);
  EXPECT_EQ(with.addresses[0], (AddressItem{ip("192.0.2.70"), "lo"}));
  EXPECT_EQ(plan_for("fwmark:7", std::nullopt, {ip("192.0.2.70")}).service, "FWM 7");
}

TEST(RsSetupPlan, VipAddsToTheServiceAndWorksWithoutConfiguration) {
  const Plan both = plan_for("192.0.2.80:80", std::nullopt, {ip("192.0.2.77"), ip("192.0.2.80")});
  EXPECT_EQ(both.vips, (std::vector<IpAddress>{ip("192.0.2.80"), ip("192.0.2.77")}));
  auto bare = plan(nullptr, {.mode = Mode::kDr, .vips = {ip("192.0.2.5")}});
  ASSERT_TRUE(bare.ok());
  EXPECT_THAT(render(*bare, Format::kShell), HasSubstr("192.0.2.5/32 dev lo"));
  EXPECT_FALSE(plan(nullptr, {.mode = Mode::kDr}).ok());
  EXPECT_FALSE(plan(nullptr, {.vips = {ip("192.0.2.5")}}).ok());
}

// --- --check: facts -> verdicts ------------------------------------------------------------------

Facts dr_host(const std::string& arp_ignore, const std::string& arp_announce, bool vip_on_lo) {
  Facts facts;
  facts.interfaces["lo"] = {.up = true, .arp = false, .addresses = {"127.0.0.1/8"}};
  facts.interfaces["eth0"] = {.up = true, .arp = true, .addresses = {"10.0.0.2/24"}};
  if (vip_on_lo) facts.interfaces["lo"].addresses.insert("192.0.2.80/32");
  for (const char* dev : {"all", "lo", "eth0"}) {
    facts.sysctls[std::string("net.ipv4.conf.") + dev + ".arp_ignore"] = "0";
    facts.sysctls[std::string("net.ipv4.conf.") + dev + ".arp_announce"] = "0";
    facts.sysctls[std::string("net.ipv4.conf.") + dev + ".rp_filter"] = "1";
  }
  facts.sysctls["net.ipv4.conf.all.arp_ignore"] = arp_ignore;
  facts.sysctls["net.ipv4.conf.all.arp_announce"] = arp_announce;
  return facts;
}

const Verdict* find(const std::vector<Verdict>& verdicts, const std::string& item) {
  for (const auto& v : verdicts)
    if (v.item == item) return &v;
  return nullptr;
}

struct CheckRow {
  const char* name;
  Facts facts;
  std::string item;
  bool ok;
  std::string found;  // a fragment
  std::string fix;    // a fragment; empty when ok
};

class CheckTest : public ::testing::TestWithParam<CheckRow> {};

TEST_P(CheckTest, Verdict) {
  const auto& row = GetParam();
  const auto verdicts = judge(plan_for("192.0.2.80:80"), row.facts);
  const Verdict* v = find(verdicts, row.item);
  ASSERT_NE(v, nullptr) << row.name << ": no verdict for " << row.item;
  EXPECT_EQ(v->ok, row.ok) << row.name << ": " << v->found;
  EXPECT_THAT(v->found, HasSubstr(row.found)) << row.name;
  if (row.ok) {
    EXPECT_EQ(v->fix, "") << row.name;
  } else {
    EXPECT_THAT(v->fix, HasSubstr(row.fix)) << row.name;
  }
}

Facts with(Facts facts, const std::string& name, const std::string& value) {
  facts.sysctls[name] = value;
  return facts;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, CheckTest,
    ::testing::Values(
        CheckRow{"fresh host: answers ARP", dr_host("0", "0", false), "arp_ignore on eth0", false,
                 "arp_ignore = max(all 0, eth0 0) = 0: answers ARP for the VIP",
                 "sysctl -w net.ipv4.conf.all.arp_ignore=1"},
        CheckRow{"fresh host: no VIP", dr_host("0", "0", false), "address 192.0.2.80/32 on lo",
                 false, "absent", "ip address replace 192.0.2.80/32 dev lo"},
        CheckRow{"fresh host: announce", dr_host("0", "0", false), "arp_announce on eth0", false,
                 "may announce the VIP", "sysctl -w net.ipv4.conf.all.arp_announce=2"},
        CheckRow{"set up", dr_host("1", "2", true), "arp_ignore on eth0", true,
                 "arp_ignore = max(all 1, eth0 0) = 1", ""},
        CheckRow{"set up: announce", dr_host("1", "2", true), "arp_announce on eth0", true, "= 2",
                 ""},
        CheckRow{"set up: VIP", dr_host("1", "2", true), "address 192.0.2.80/32 on lo", true,
                 "present", ""},
        CheckRow{"the interface's own value is enough",
                 with(dr_host("0", "2", true), "net.ipv4.conf.eth0.arp_ignore", "2"),
                 "arp_ignore on eth0", true, "max(all 0, eth0 2) = 2", ""},
        CheckRow{"8: never answers", dr_host("8", "2", true), "arp_ignore on eth0", true, "= 8",
                 ""},
        CheckRow{"3 on the interface overrides all's 1",
                 with(dr_host("1", "2", true), "net.ipv4.conf.eth0.arp_ignore", "3"),
                 "arp_ignore on eth0", false, "answers ARP for global addresses on lo",
                 "net.ipv4.conf.eth0.arp_ignore=1"},
        CheckRow{"arp_announce 1 is not enough", dr_host("1", "1", true), "arp_announce on eth0",
                 false, "= 1", "arp_announce=2"},
        CheckRow{"VIP with another prefix",
                 [] {
                   Facts f = dr_host("1", "2", false);
                   f.interfaces["eth0"].addresses.insert("192.0.2.80/24");
                   return f;
                 }(),
                 "address 192.0.2.80/32 on lo", false, "this host has 192.0.2.80/24 on eth0",
                 "ip address replace 192.0.2.80/32 dev lo"},
        CheckRow{"unreadable sysctl",
                 [] {
                   Facts f = dr_host("1", "2", true);
                   f.sysctls.erase("net.ipv4.conf.eth0.arp_ignore");
                   return f;
                 }(),
                 "arp_ignore on eth0", false, "cannot be read", "arp_ignore=1"}));

TEST(RsSetupCheck, DownOrNoArpInterfacesAreNotJudged) {
  Facts facts = dr_host("0", "0", true);
  facts.interfaces["eth0"].up = false;
  const auto verdicts = judge(plan_for("192.0.2.80:80"), facts);
  EXPECT_EQ(find(verdicts, "arp_ignore on eth0"), nullptr);
  const Verdict* none = find(verdicts, "arp_ignore");
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(none->ok);
}

Facts tun_host(const std::string& all_rp, const std::string& tunl0_rp, bool tunl0_up) {
  Facts facts = dr_host("1", "2", false);
  facts.interfaces["tunl0"] = {.up = tunl0_up, .arp = false, .addresses = {"192.0.2.81/32"}};
  facts.sysctls["net.ipv4.conf.all.rp_filter"] = all_rp;
  facts.sysctls["net.ipv4.conf.tunl0.rp_filter"] = tunl0_rp;
  return facts;
}

TEST(RsSetupCheck, TunnelDeviceAndReversePath) {
  const Plan tun = plan_for("192.0.2.81:80");
  auto verdicts = judge(tun, tun_host("0", "0", true));
  for (const auto& v : verdicts)
    EXPECT_TRUE(v.ok) << v.item << ": " << v.found;
  EXPECT_NE(find(verdicts, "device tunl0"), nullptr);
  EXPECT_NE(find(verdicts, "rp_filter on tunl0"), nullptr);

  verdicts = judge(tun, tun_host("1", "0", true));
  const Verdict* rp = find(verdicts, "rp_filter on tunl0");
  ASSERT_NE(rp, nullptr);
  EXPECT_FALSE(rp->ok);
  EXPECT_THAT(rp->found, HasSubstr("max(all 1, tunl0 0) = 1: drops the decapsulated packets"));
  EXPECT_EQ(rp->fix, "sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0");

  verdicts = judge(tun, tun_host("2", "0", true));
  rp = find(verdicts, "rp_filter on tunl0");
  ASSERT_NE(rp, nullptr);
  EXPECT_TRUE(rp->ok);
  EXPECT_THAT(rp->found, HasSubstr("loose"));

  verdicts = judge(tun, tun_host("0", "0", false));
  const Verdict* device = find(verdicts, "device tunl0");
  ASSERT_NE(device, nullptr);
  EXPECT_FALSE(device->ok);
  EXPECT_EQ(device->fix, "ip link set tunl0 up");

  Facts missing = tun_host("0", "0", true);
  missing.interfaces.erase("tunl0");
  verdicts = judge(tun, missing);
  device = find(verdicts, "device tunl0");
  ASSERT_NE(device, nullptr);
  EXPECT_FALSE(device->ok);
  EXPECT_EQ(device->fix, "modprobe ipip && ip link set tunl0 up");
  const Verdict* address = find(verdicts, "address 192.0.2.81/32 on tunl0");
  ASSERT_NE(address, nullptr);
  EXPECT_FALSE(address->ok);
}

TEST(RsSetupCheck, GuePort) {
  const Plan gue = plan_for("192.0.2.82:80");
  Facts facts = tun_host("0", "0", true);
  facts.interfaces["tunl0"].addresses = {"192.0.2.82/32"};
  const auto closed = judge(gue, facts);
  const Verdict* port = find(closed, "GUE port 6080");
  ASSERT_NE(port, nullptr);
  EXPECT_FALSE(port->ok);
  EXPECT_EQ(port->fix, "modprobe fou && ip fou add port 6080 gue");
  facts.udp_ports.insert({AddressFamily::kIpv4, 6080});
  const auto verdicts = judge(gue, facts);
  for (const auto& v : verdicts)
    EXPECT_TRUE(v.ok) << v.item << ": " << v.found;
}

TEST(RsSetupCheck, Ipv6TunnelHasNoArpOrReversePathItems) {
  Facts facts;
  facts.interfaces["ip6tnl0"] = {.up = true, .arp = false, .addresses = {"2001:db8::2/128"}};
  facts.interfaces["eth0"] = {.up = true, .arp = true, .addresses = {}};
  const auto verdicts = judge(plan_for("[2001:db8::2]:80"), facts);
  ASSERT_EQ(verdicts.size(), 2U);
  EXPECT_EQ(verdicts[0].item, "device ip6tnl0");
  EXPECT_EQ(verdicts[1].item, "address 2001:db8::2/128 on ip6tnl0");
  EXPECT_TRUE(verdicts[0].ok && verdicts[1].ok);
}

TEST(RsSetupCheck, NatHasNothingToCheck) {
  const Plan nat = plan_for("192.0.2.84:80");
  const auto verdicts = judge(nat, dr_host("0", "0", false));
  EXPECT_TRUE(verdicts.empty());
  EXPECT_THAT(render_verdicts(nat, verdicts), HasSubstr("nothing to check on a real server"));
}

TEST(RsSetupCheck, SummaryCountsFailures) {
  const Plan dr = plan_for("192.0.2.80:80");
  const std::string text = render_verdicts(dr, judge(dr, dr_host("0", "0", false)));
  EXPECT_THAT(text, HasSubstr("FAIL arp_ignore on eth0:"));
  EXPECT_THAT(text, HasSubstr("; fix: sysctl -w net.ipv4.conf.all.arp_ignore=1"));
  EXPECT_THAT(text, HasSubstr("[192.0.2.80]:tcp:80 (dr): 3 checks, 3 fail"));
}

TEST(RsSetupCheck, WantedSysctlsCoverEveryInterface) {
  const auto wanted = wanted_sysctls(dr_host("0", "0", false).interfaces);
  EXPECT_TRUE(wanted.count("net.ipv4.conf.all.arp_ignore"));
  EXPECT_TRUE(wanted.count("net.ipv4.conf.eth0.arp_announce"));
  EXPECT_TRUE(wanted.count("net.ipv4.conf.lo.rp_filter"));
}

}  // namespace
}  // namespace vigil::doctor::rs_setup

#include "vrrp/vmac.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace vigil::vrrp {
namespace {

TEST(VirtualRouterMac, IsTheRfc5798AddressOfTheFamilyAndVrid) {
  struct Case {
    AddressFamily family;
    uint8_t vrid;
    MacAddress mac;
  };
  const Case cases[] = {
      {AddressFamily::kIpv4, 51, {0x00, 0x00, 0x5e, 0x00, 0x01, 51}},
      {AddressFamily::kIpv4, 255, {0x00, 0x00, 0x5e, 0x00, 0x01, 0xff}},
      {AddressFamily::kIpv6, 1, {0x00, 0x00, 0x5e, 0x00, 0x02, 0x01}},
  };
  for (const auto& c : cases)
    EXPECT_EQ(virtual_router_mac(c.family, c.vrid), c.mac) << int{c.vrid};
}

TEST(DefaultVmacName, FollowsKeepalivedsSequenceWhenTaken) {
  struct Case {
    std::string label;
    std::string prefix;
    uint8_t vrid;
    AddressFamily family;
    std::set<std::string> taken;
    std::string name;
  };
  const std::vector<Case> cases = {
      {"free", "vrrp", 51, AddressFamily::kIpv4, {}, "vrrp.51"},
      {"IPv6 free: no 6", "vrrp", 51, AddressFamily::kIpv6, {}, "vrrp.51"},
      {"IPv4 taken", "vrrp", 51, AddressFamily::kIpv4, {"vrrp.51"}, "vrrp1.51"},
      {"IPv4 twice", "vrrp", 51, AddressFamily::kIpv4, {"vrrp.51", "vrrp1.51"}, "vrrp2.51"},
      {"IPv6 taken", "vrrp", 51, AddressFamily::kIpv6, {"vrrp.51"}, "vrrp6.51"},
      {"IPv6 then 1", "vrrp", 51, AddressFamily::kIpv6, {"vrrp.51", "vrrp6.51"}, "vrrp1.51"},
      {"IPv6 skips 6",
       "vrrp",
       51,
       AddressFamily::kIpv6,
       {"vrrp.51", "vrrp6.51", "vrrp1.51", "vrrp2.51", "vrrp3.51", "vrrp4.51", "vrrp5.51"},
       "vrrp7.51"},
      {"prefix", "vm", 7, AddressFamily::kIpv4, {}, "vm.7"},
      {"long prefix cut to 15",
       "abcdefghijklmnop",
       200,
       AddressFamily::kIpv4,
       {},
       "abcdefghijk.200"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(default_vmac_name(c.prefix, c.vrid, c.family, c.taken), c.name) << c.label;
}

TEST(VmacSysctls, AreKeepalivedsPerFamily) {
  const VmacPlan v4{.name = "vrrp.51", .base = "eth0", .family = AddressFamily::kIpv4};
  const std::vector<SysctlSetting> want4 = {
      {"ipv4", "vrrp.51", "arp_ignore", 1},   {"ipv4", "vrrp.51", "accept_local", 1},
      {"ipv4", "vrrp.51", "rp_filter", 0},    {"ipv4", "vrrp.51", "promote_secondaries", 1},
      {"ipv6", "vrrp.51", "disable_ipv6", 1}, {"ipv6", "vrrp.51", "addr_gen_mode", 1},
  };
  EXPECT_EQ(vmac_sysctls(v4), want4);
  const VmacPlan v6{.name = "vrrp.52", .base = "eth0", .family = AddressFamily::kIpv6};
  EXPECT_EQ(vmac_sysctls(v6),
            (std::vector<SysctlSetting>{{"ipv6", "vrrp.52", "addr_gen_mode", 1}}));
  EXPECT_EQ(want4[0].path(), "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore");
}

TEST(AdvertInterface, IsTheBaseOnlyWithXmitBase) {
  VmacPlan plan{.name = "vrrp.51", .base = "eth0"};
  EXPECT_EQ(advert_interface(plan), "vrrp.51");
  plan.xmit_base = true;
  EXPECT_EQ(advert_interface(plan), "eth0");
}

TEST(BaseArpSettings, SetsWhatIsNotOneAndRestoresItAfterTheLastUser) {
  struct Case {
    std::string label;
    BaseArpSettings::Current current;
    std::vector<SysctlSetting> set;
    std::vector<SysctlSetting> restored;
  };
  const std::vector<Case> cases = {
      {"both 0",
       {0, 0},
       {{"ipv4", "eth0", "arp_ignore", 1}, {"ipv4", "eth0", "arp_filter", 1}},
       {{"ipv4", "eth0", "arp_ignore", 0}, {"ipv4", "eth0", "arp_filter", 0}}},
      {"arp_ignore 2 kept as 2 on restore",
       {2, 1},
       {{"ipv4", "eth0", "arp_ignore", 1}},
       {{"ipv4", "eth0", "arp_ignore", 2}}},
      {"both 1: nothing", {1, 1}, {}, {}},
      {"unreadable: left alone",
       {std::nullopt, 0},
       {{"ipv4", "eth0", "arp_filter", 1}},
       {{"ipv4", "eth0", "arp_filter", 0}}},
  };
  for (const auto& c : cases) {
    BaseArpSettings settings;
    EXPECT_EQ(settings.acquire("eth0", c.current), c.set) << c.label;
    // A second VMAC on the same base changes nothing and restores nothing when it goes.
    EXPECT_TRUE(settings.acquire("eth0", {5, 5}).empty()) << c.label;
    EXPECT_EQ(settings.users("eth0"), 2) << c.label;
    EXPECT_TRUE(settings.release("eth0").empty()) << c.label;
    EXPECT_EQ(settings.release("eth0"), c.restored) << c.label;
    EXPECT_EQ(settings.users("eth0"), 0) << c.label;
    EXPECT_TRUE(settings.release("eth0").empty()) << c.label;
  }
}

}  // namespace
}  // namespace vigil::vrrp

#include "lvs/desired.h"

#include <gtest/gtest.h>

#include "config/parser.h"

namespace vigil::lvs {
namespace {

using datapath::DestinationKey;
using datapath::ServiceKey;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

struct Fixture {
  std::unique_ptr<config::Parsed> parsed;
  DesiredLvs desired;
};

Fixture build(const std::string& text, const RealServerHealth& health = {}) {
  Fixture f;
  f.parsed = config::parse_text("test.conf", text);
  EXPECT_TRUE(f.parsed->ok()) << f.parsed->diagnostics.format(f.parsed->files);
  f.desired = desired_lvs(f.parsed->config, health);
  return f;
}

TEST(DesiredLvs, NatServiceWithTwoRealServers) {
  auto f = build(R"(
virtual_server 192.0.2.80 80 {
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  persistence_timeout 300
  real_server 10.0.0.11 8080 {
    weight 3
    uthreshold 100
    lthreshold 10
  }
  real_server 10.0.0.12 8080 {
  }
}
)");
  ASSERT_EQ(f.desired.table.size(), 1U);
  const auto& [key, entry] = *f.desired.table.begin();
  EXPECT_EQ(key, ServiceKey::tcp(ip("192.0.2.80"), 80));
  EXPECT_EQ(entry.service.scheduler, "wrr");
  EXPECT_TRUE(entry.service.flags.persistent);
  EXPECT_EQ(entry.service.persistence_timeout, std::chrono::seconds(300));
  EXPECT_EQ(entry.service.netmask_prefix, 32);
  ASSERT_EQ(entry.destinations.size(), 2U);
  const auto& d1 = entry.destinations.at(DestinationKey{ip("10.0.0.11"), 8080});
  EXPECT_EQ(d1.method, datapath::ForwardingMethod::kNat);
  EXPECT_EQ(d1.weight, 3);
  EXPECT_EQ(d1.upper_threshold, 100U);
  EXPECT_EQ(d1.lower_threshold, 10U);
  EXPECT_EQ(entry.destinations.at(DestinationKey{ip("10.0.0.12"), 8080}).weight, 1);
  EXPECT_TRUE(f.desired.fullnat.empty());
}

TEST(DesiredLvs, DirectRoutingRealServerPortZeroTakesTheServicePort) {
  auto f = build(R"(
virtual_server 192.0.2.100 443 {
  lb_algo wlc
  lb_kind DR
  protocol TCP
  real_server 192.0.2.21 0 {
  }
}
)");
  const auto& entry = f.desired.table.at(ServiceKey::tcp(ip("192.0.2.100"), 443));
  ASSERT_EQ(entry.destinations.count(DestinationKey{ip("192.0.2.21"), 443}), 1U);
  EXPECT_EQ(entry.destinations.begin()->second.method, datapath::ForwardingMethod::kDirectRoute);
  EXPECT_EQ(entry.service.scheduler, "wlc");
}

TEST(DesiredLvs, FwmarkAndTunnelParameters) {
  auto f = build(R"(
virtual_server fwmark 7 {
  lvs_sched mh
  real_server 198.51.100.10 0 {
    lvs_method TUN type gue port 6080 csum
  }
}
)");
  const auto& entry = f.desired.table.at(ServiceKey::firewall_mark(7, AddressFamily::kIpv4));
  const auto& d = entry.destinations.at(DestinationKey{ip("198.51.100.10"), 0});
  EXPECT_EQ(d.method, datapath::ForwardingMethod::kTunnel);
  EXPECT_EQ(d.tunnel_type, datapath::TunnelType::kGue);
  EXPECT_EQ(d.tunnel_port, 6080);
  EXPECT_TRUE(d.tunnel_flags.checksum);
}

TEST(DesiredLvs, GroupExpandsToOneServicePerAddress) {
  auto f = build(R"(
virtual_server_group WEB {
  192.0.2.70 80
  192.0.2.71-73 80
  fwmark 5
}
virtual_server group WEB {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
  }
}
)");
  EXPECT_EQ(f.desired.table.size(), 5U);
  for (const char* vip : {"192.0.2.70", "192.0.2.71", "192.0.2.72", "192.0.2.73"}) {
    EXPECT_EQ(f.desired.table.count(ServiceKey::tcp(ip(vip), 80)), 1U) << vip;
  }
  EXPECT_EQ(f.desired.table.count(ServiceKey::firewall_mark(5, AddressFamily::kIpv4)), 1U);
}

TEST(DesiredLvs, PersistenceOfAMixedFamilyGroupIsPerHostInEachFamily) {
  auto f = build(R"(
virtual_server_group MIXED {
  192.0.2.70 80
  2001:db8::70 80
}
virtual_server group MIXED {
  lvs_sched rr
  lvs_method TUN
  protocol TCP
  persistence_timeout 60
  real_server 10.0.0.1 80 {
  }
}
)");
  ASSERT_EQ(f.desired.table.size(), 2U);
  EXPECT_EQ(f.desired.table.at(ServiceKey::tcp(ip("192.0.2.70"), 80)).service.netmask_prefix, 32);
  EXPECT_EQ(f.desired.table.at(ServiceKey::tcp(ip("2001:db8::70"), 80)).service.netmask_prefix,
            128);
}

TEST(DesiredLvs, FailedServersAreRemovedOrInhibited) {
  auto f = build(R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
  }
  real_server 10.0.0.2 80 {
    inhibit_on_failure
  }
  real_server 10.0.0.3 80 {
  }
}
)",
                 [](const config::VirtualServer&, const config::RealServer& rs) {
                   return rs.address == ip("10.0.0.3");
                 });
  const auto& dests = f.desired.table.begin()->second.destinations;
  ASSERT_EQ(dests.size(), 2U);
  EXPECT_EQ(dests.at(DestinationKey{ip("10.0.0.2"), 80}).weight, 0);
  EXPECT_EQ(dests.at(DestinationKey{ip("10.0.0.3"), 80}).weight, 1);
}

TEST(DesiredLvs, LostQuorumSwapsInTheSorryServer) {
  const char* text = R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  quorum 2
  sorry_server 10.0.0.99 8080
  real_server 10.0.0.1 80 {
  }
  real_server 10.0.0.2 80 {
  }
}
)";
  auto all_up = build(text);
  const auto& up = all_up.desired.table.begin()->second.destinations;
  EXPECT_EQ(up.size(), 2U);
  EXPECT_EQ(up.count(DestinationKey{ip("10.0.0.99"), 8080}), 0U);

  auto one_down = build(text, [](const config::VirtualServer&, const config::RealServer& rs) {
    return rs.address == ip("10.0.0.1");
  });
  const auto& down = one_down.desired.table.begin()->second.destinations;
  ASSERT_EQ(down.size(), 1U);
  EXPECT_EQ(down.begin()->first, (DestinationKey{ip("10.0.0.99"), 8080}));
}

TEST(DesiredLvs, AlphaServersWithCheckersWaitForTheirFirstPass) {
  auto f = build(R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    alpha
    TCP_CHECK {
    }
  }
  real_server 10.0.0.2 80 {
    alpha
  }
}
)");
  const auto& dests = f.desired.table.begin()->second.destinations;
  ASSERT_EQ(dests.size(), 1U);  // 10.0.0.2 has no checker: it is alive
  EXPECT_EQ(dests.begin()->first, (DestinationKey{ip("10.0.0.2"), 80}));
}

// keepalived's alpha is a checker keyword too: in the checker's own block it keeps the real
// server out until the first pass (vigild added it at start and removed it at the first
// verdict, a NEW_DEST and a DEL_DEST within milliseconds: netns.vigild.checker.*).
TEST(DesiredLvs, AlphaInACheckerBlockKeepsItsServerOutUntilTheFirstPass) {
  auto f = build(R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 10.0.0.1 80 {
    TCP_CHECK {
      alpha
    }
  }
  real_server 10.0.0.2 80 {
    TCP_CHECK {
    }
    MISC_CHECK {
      misc_path /bin/true
      alpha
    }
  }
  real_server 10.0.0.3 80 {
    TCP_CHECK {
    }
  }
}
)");
  const auto& dests = f.desired.table.begin()->second.destinations;
  ASSERT_EQ(dests.size(), 1U);
  EXPECT_EQ(dests.begin()->first, (DestinationKey{ip("10.0.0.3"), 80}));
}

TEST(DesiredLvs, TheCheckersVerdictDecidesDestinationsWeightsAndTheSorryServer) {
  auto parsed = config::parse_text("test.conf", R"(
virtual_server 192.0.2.80 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  sorry_server 10.0.0.99 8080
  real_server 10.0.0.1 80 {
    weight 4
  }
  real_server 10.0.0.2 80 {
  }
}
)");
  ASSERT_TRUE(parsed->ok());
  const auto& vs = parsed->config.lvs.virtual_servers.at(0);
  HealthOverlay checkers{
      {check::virtual_server_key(vs),
       {.real_servers = {{.key = {ip("10.0.0.1"), 80}, .in_ipvs = true, .weight = 9},
                         {.key = {ip("10.0.0.2"), 80}, .in_ipvs = false}},
        .sorry_server = check::DesiredDestination{
            .key = {ip("10.0.0.99"), 8080}, .in_ipvs = true, .weight = 0}}}};
  const auto desired = desired_lvs(parsed->config, {}, checkers);
  const auto& dests = desired.table.begin()->second.destinations;
  ASSERT_EQ(dests.size(), 2U);
  EXPECT_EQ(dests.at(DestinationKey{ip("10.0.0.1"), 80}).weight, 9);
  EXPECT_EQ(dests.at(DestinationKey{ip("10.0.0.99"), 8080}).weight, 0);
}

TEST(DesiredLvs, FullNatIsIpvsNatPlusASourceNatList) {
  auto f = build(R"(
virtual_server 192.0.2.80 80 {
  protocol TCP
  lvs_sched rr
  lvs_method FULLNAT
  real_server 10.9.0.1 8080 {
  }
}
)");
  const auto& [key, entry] = *f.desired.table.begin();
  EXPECT_EQ(entry.destinations.begin()->second.method, datapath::ForwardingMethod::kNat);
  ASSERT_EQ(f.desired.fullnat.size(), 1U);
  EXPECT_EQ(f.desired.fullnat[0].service, key);
  EXPECT_EQ(f.desired.fullnat[0].destinations,
            (std::vector<DestinationKey>{{ip("10.9.0.1"), 8080}}));
}

}  // namespace
}  // namespace vigil::lvs

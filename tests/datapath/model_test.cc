#include "datapath/model.h"

#include <gtest/gtest.h>

#include "datapath/datapath.h"

namespace vigil::datapath {
namespace {

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

TEST(ServiceKey, FwmarkKeysCompareOnlyMarkAndFamily) {
  auto a = ServiceKey::firewall_mark(7, AddressFamily::kIpv4);
  auto b = a;
  b.address = ip("10.0.0.9");  // noise a dump must not make significant
  b.port = 99;
  b.protocol = Protocol::kUdp;
  EXPECT_EQ(a, b);
  EXPECT_NE(a, ServiceKey::firewall_mark(7, AddressFamily::kIpv6));
  EXPECT_NE(a, ServiceKey::firewall_mark(8, AddressFamily::kIpv4));
}

TEST(ServiceKey, OrdersAddressServicesBeforeFwmarkAndV4BeforeV6) {
  auto v4 = ServiceKey::tcp(ip("10.0.0.1"), 80);
  auto v4_udp = ServiceKey::udp(ip("10.0.0.1"), 80);
  auto v6 = ServiceKey::tcp(ip("2001:db8::1"), 80);
  auto mark = ServiceKey::firewall_mark(1, AddressFamily::kIpv4);
  EXPECT_LT(v4, v4_udp);
  EXPECT_LT(v4_udp, v6);
  EXPECT_LT(v6, mark);
  EXPECT_LT(ServiceKey::tcp(ip("10.0.0.1"), 80), ServiceKey::tcp(ip("10.0.0.1"), 443));
  EXPECT_NE(ServiceKey::tcp(ip("10.0.0.1"), 80), ServiceKey::sctp(ip("10.0.0.1"), 80));
}

TEST(ServiceKey, PrintsLikeIpvsadm) {
  EXPECT_EQ(to_string(ServiceKey::tcp(ip("10.0.0.1"), 80)), "TCP 10.0.0.1:80");
  EXPECT_EQ(to_string(ServiceKey::udp(ip("2001:db8::1"), 53)), "UDP [2001:db8::1]:53");
  EXPECT_EQ(to_string(ServiceKey::sctp(ip("10.0.0.1"), 9)), "SCTP 10.0.0.1:9");
  EXPECT_EQ(to_string(ServiceKey::firewall_mark(3, AddressFamily::kIpv4)), "FWM 3");
  EXPECT_EQ(to_string(ServiceKey::firewall_mark(3, AddressFamily::kIpv6)), "FWM 3 IPv6");
}

struct FlagNameCase {
  const char* scheduler;
  const char* name;
  std::optional<SchedulerFlag> flag;
};

class SchedulerFlagByName : public ::testing::TestWithParam<FlagNameCase> {};

TEST_P(SchedulerFlagByName, MapsLikeIpvsadm) {
  const auto& c = GetParam();
  EXPECT_EQ(scheduler_flag_by_name(c.scheduler, c.name), c.flag) << c.scheduler << " " << c.name;
}

INSTANTIATE_TEST_SUITE_P(Table, SchedulerFlagByName,
                         ::testing::Values(FlagNameCase{"sh", "sh-fallback", SchedulerFlag::kFlag1},
                                           FlagNameCase{"sh", "sh-port", SchedulerFlag::kFlag2},
                                           FlagNameCase{"mh", "mh-fallback", SchedulerFlag::kFlag1},
                                           FlagNameCase{"mh", "mh-port", SchedulerFlag::kFlag2},
                                           FlagNameCase{"rr", "flag-3", SchedulerFlag::kFlag3},
                                           FlagNameCase{"mh", "flag-1", SchedulerFlag::kFlag1},
                                           FlagNameCase{"rr", "sh-port", std::nullopt},
                                           FlagNameCase{"sh", "mh-port", std::nullopt},
                                           FlagNameCase{"sh", "port", std::nullopt}));

TEST(ServiceFlags, BitsMatchIpVsH) {
  // IP_VS_SVC_F_PERSISTENT 0x1, ONEPACKET 0x4, SCHED1 0x8, SCHED2 0x10, SCHED3 0x20.
  EXPECT_EQ((ServiceFlags{.persistent = true}.to_bits()), 0x1U);
  EXPECT_EQ((ServiceFlags{.one_packet = true}.to_bits()), 0x4U);
  EXPECT_EQ(
      (ServiceFlags{.sched_flag_1 = true, .sched_flag_2 = true, .sched_flag_3 = true}.to_bits()),
      0x38U);
  // HASHED (0x2) is the kernel's own and is dropped.
  EXPECT_EQ(ServiceFlags::from_bits(0x2 | 0x1 | 0x10),
            (ServiceFlags{.persistent = true, .sched_flag_2 = true}));
  EXPECT_EQ(scheduler_flag_names("sh", ServiceFlags::from_bits(0x18)), "sh-fallback,sh-port");
  EXPECT_EQ(scheduler_flag_names("mh", ServiceFlags::from_bits(0x10)), "mh-port");
  EXPECT_EQ(scheduler_flag_names("rr", ServiceFlags::from_bits(0x28)), "flag-1,flag-3");
}

TEST(TunnelFlags, BitsMatchIpVsH) {
  EXPECT_EQ((TunnelFlags{.checksum = true}.to_bits()), 1U);
  EXPECT_EQ((TunnelFlags{.remote_checksum = true}.to_bits()), 2U);
  EXPECT_EQ(TunnelFlags::from_bits(3), (TunnelFlags{.checksum = true, .remote_checksum = true}));
}

TEST(ServiceEntry, EqualityIgnoresCounters) {
  ServiceEntry a{.service = {.scheduler = "rr"},
                 .destinations = {{{ip("10.1.0.1"), 80}, Destination{.weight = 2}}}};
  ServiceEntry b = a;
  b.stats.connections = 12;
  b.destination_stats[{ip("10.1.0.1"), 80}].active_connections = 3;
  EXPECT_EQ(a, b);
  b.destinations.begin()->second.weight = 3;
  EXPECT_NE(a, b);
}

TEST(Table, WithoutCountersKeepsWhatVigilSetsAndDropsTheCounters) {
  const DestinationKey rs{ip("10.1.0.1"), 80};
  const ServiceKey vs = ServiceKey::tcp(ip("192.0.2.1"), 80);
  Table table;
  ServiceEntry& entry = table[vs];
  entry.service.scheduler = "wlc";
  entry.destinations[rs] = Destination{.weight = 4};
  entry.stats.connections = 9;
  entry.destination_stats[rs].active_connections = 5;

  const Table copy = without_counters(table);
  ASSERT_EQ(copy, table);  // equality compares what vigil sets
  EXPECT_EQ(copy.at(vs).service.scheduler, "wlc");
  EXPECT_EQ(copy.at(vs).destinations.at(rs).weight, 4);
  EXPECT_EQ(copy.at(vs).stats, Stats{});
  EXPECT_TRUE(copy.at(vs).destination_stats.empty());
  EXPECT_EQ(table.at(vs).destination_stats.at(rs).active_connections, 5U);  // source untouched
}

TEST(KernelInfo, VersionString) {
  EXPECT_EQ((KernelInfo{.version = 0x010201}.version_string()), "1.2.1");
}

TEST(Operation, PrintsForLogs) {
  auto vs = ServiceKey::tcp(ip("10.0.0.1"), 80);
  DestinationKey rs{ip("192.168.1.2"), 8080};
  EXPECT_EQ(to_string(Operation{AddService{vs, {.scheduler = "rr"}}}),
            "add service TCP 10.0.0.1:80 sched rr");
  EXPECT_EQ(to_string(Operation{EditService{vs,
                                            {.scheduler = "sh",
                                             .flags = {.persistent = true, .sched_flag_2 = true},
                                             .persistence_timeout = std::chrono::seconds(300),
                                             .netmask_prefix = 24,
                                             .persistence_engine = "sip"}}}),
            "edit service TCP 10.0.0.1:80 sched sh flags sh-port persistent 300s netmask /24 pe "
            "sip");
  EXPECT_EQ(to_string(Operation{DeleteService{vs}}), "delete service TCP 10.0.0.1:80");
  EXPECT_EQ(to_string(Operation{AddDestination{vs, rs, {.weight = 3}}}),
            "add dest TCP 10.0.0.1:80 -> 192.168.1.2:8080 masq weight 3");
  EXPECT_EQ(to_string(Operation{EditDestination{vs,
                                                rs,
                                                {.method = ForwardingMethod::kTunnel,
                                                 .weight = 1,
                                                 .upper_threshold = 100,
                                                 .lower_threshold = 10,
                                                 .tunnel_type = TunnelType::kGue,
                                                 .tunnel_port = 6080,
                                                 .tunnel_flags = {.checksum = true}}}}),
            "edit dest TCP 10.0.0.1:80 -> 192.168.1.2:8080 tunnel weight 1 thresholds 10-100 "
            "gue:6080 csum");
  EXPECT_EQ(to_string(Operation{DeleteDestination{vs, rs}}),
            "delete dest TCP 10.0.0.1:80 -> 192.168.1.2:8080");
  EXPECT_EQ(to_string(Operation{Flush{}}), "flush");
  EXPECT_EQ(kind(Operation{DeleteDestination{vs, rs}}), OperationKind::kDeleteDestination);
  EXPECT_EQ(to_string(OperationKind::kEditService), "edit service");
}

}  // namespace
}  // namespace vigil::datapath

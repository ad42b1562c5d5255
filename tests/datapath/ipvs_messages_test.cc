// The IPVS generic netlink codec: requests built from the model parse back to the same model,
// the wire layout matches include/uapi/linux/ip_vs.h (byte orders, netmask forms), and kernel
// replies (STATS64, HASHED flag, tunnel fields on non-tunnel destinations) read as vigil expects.
#include "datapath/ipvs_messages.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vigil::datapath::ipvs {
namespace {

using std::chrono::seconds;

constexpr int kFamily = 42;

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

// The nested attributes of `nest_type` in a built message, for checking the wire layout.
struct Nest {
  nlattr* attributes[IPVS_DEST_ATTR_MAX + 1] = {};  // the largest of the nested attribute sets
};

Nest parse_nest(const Message& message, int nest_type, int max_type) {
  nlattr* top[IPVS_CMD_ATTR_MAX + 1] = {};
  EXPECT_EQ(genlmsg_parse(header_of(message), 0, top, IPVS_CMD_ATTR_MAX, nullptr), 0);
  Nest nest;
  EXPECT_NE(top[nest_type], nullptr);
  EXPECT_EQ(nla_parse_nested(nest.attributes, max_type, top[nest_type], nullptr), 0);
  return nest;
}

uint8_t command_of(const Message& message) {
  return static_cast<genlmsghdr*>(nlmsg_data(header_of(message)))->cmd;
}

TEST(IpvsMessages, AddServiceRoundTripsEveryServiceAttribute) {
  const AddService op{.key = ServiceKey::udp(ip("10.1.2.3"), 53),
                      .service = {.scheduler = "sh",
                                  .flags = {.persistent = true,
                                            .one_packet = true,
                                            .sched_flag_1 = true,
                                            .sched_flag_2 = true},
                                  .persistence_timeout = seconds(300),
                                  .netmask_prefix = 24,
                                  .persistence_engine = "sip"}};
  auto message = build_operation({.family = kFamily, .sequence = 7}, op);
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(command_of(*message), IPVS_CMD_NEW_SERVICE);
  EXPECT_EQ(header_of(*message)->nlmsg_type, kFamily);
  EXPECT_EQ(header_of(*message)->nlmsg_seq, 7U);

  auto parsed = parse_service(header_of(*message));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->key, op.key);
  EXPECT_EQ(parsed->service, op.service);
}

TEST(IpvsMessages, ServiceWireLayoutMatchesTheKernelHeader) {
  const EditService op{.key = ServiceKey::tcp(ip("192.0.2.1"), 8080),
                       .service = {.scheduler = "rr",
                                   .flags = {.persistent = true},
                                   .persistence_timeout = seconds(60),
                                   .netmask_prefix = 16}};
  auto message = build_operation({.family = kFamily, .sequence = 1}, op);
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(command_of(*message), IPVS_CMD_SET_SERVICE);
  auto nest = parse_nest(*message, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
  auto** a = nest.attributes;
  EXPECT_EQ(nla_get_u16(a[IPVS_SVC_ATTR_AF]), AF_INET);
  EXPECT_EQ(nla_get_u16(a[IPVS_SVC_ATTR_PROTOCOL]), IPPROTO_TCP);
  EXPECT_EQ(nla_get_u16(a[IPVS_SVC_ATTR_PORT]), htons(8080));  // network byte order
  ASSERT_EQ(nla_len(a[IPVS_SVC_ATTR_ADDR]), 16);               // union nf_inet_addr, like ipvsadm
  EXPECT_EQ(std::memcmp(nla_data(a[IPVS_SVC_ATTR_ADDR]), ip("192.0.2.1").bytes(), 4), 0);
  EXPECT_STREQ(nla_get_string(a[IPVS_SVC_ATTR_SCHED_NAME]), "rr");
  ip_vs_flags flags{};
  std::memcpy(&flags, nla_data(a[IPVS_SVC_ATTR_FLAGS]), sizeof flags);
  EXPECT_EQ(flags.flags, static_cast<uint32_t>(IP_VS_SVC_F_PERSISTENT));
  EXPECT_EQ(flags.mask, ~0U);
  EXPECT_EQ(nla_get_u32(a[IPVS_SVC_ATTR_TIMEOUT]), 60U);
  // An IPv4 persistence netmask travels as a mask in network byte order.
  EXPECT_EQ(nla_get_u32(a[IPVS_SVC_ATTR_NETMASK]), htonl(0xffff0000U));
  EXPECT_EQ(a[IPVS_SVC_ATTR_PE_NAME], nullptr);  // none set: not sent
  EXPECT_EQ(a[IPVS_SVC_ATTR_FWMARK], nullptr);
}

TEST(IpvsMessages, Ipv6NetmaskTravelsAsPrefixLength) {
  const AddService op{.key = ServiceKey::tcp(ip("2001:db8::10"), 443),
                      .service = {.scheduler = "wlc",
                                  .flags = {.persistent = true},
                                  .persistence_timeout = seconds(30),
                                  .netmask_prefix = 64}};
  auto message = build_operation({.family = kFamily}, op);
  ASSERT_TRUE(message.ok());
  auto nest = parse_nest(*message, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
  EXPECT_EQ(nla_get_u16(nest.attributes[IPVS_SVC_ATTR_AF]), AF_INET6);
  EXPECT_EQ(nla_get_u32(nest.attributes[IPVS_SVC_ATTR_NETMASK]), 64U);
  auto parsed = parse_service(header_of(*message));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key, op.key);
  EXPECT_EQ(parsed->service, op.service);
}

TEST(IpvsMessages, FirewallMarkServicesCarryMarkAndFamilyOnly) {
  for (auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    const DeleteService op{.key = ServiceKey::firewall_mark(77, family)};
    auto message = build_operation({.family = kFamily}, op);
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(command_of(*message), IPVS_CMD_DEL_SERVICE);
    auto nest = parse_nest(*message, IPVS_CMD_ATTR_SERVICE, IPVS_SVC_ATTR_MAX);
    EXPECT_EQ(nla_get_u32(nest.attributes[IPVS_SVC_ATTR_FWMARK]), 77U);
    EXPECT_EQ(nest.attributes[IPVS_SVC_ATTR_PROTOCOL], nullptr);
    EXPECT_EQ(nest.attributes[IPVS_SVC_ATTR_SCHED_NAME], nullptr);  // a key, not an entry
    EXPECT_EQ(nla_get_u16(nest.attributes[IPVS_SVC_ATTR_AF]),
              family == AddressFamily::kIpv4 ? AF_INET : AF_INET6);
  }
}

struct DestinationCase {
  const char* name;
  ServiceKey service;
  DestinationKey key;
  Destination destination;
};

class DestinationRoundTrip : public ::testing::TestWithParam<DestinationCase> {};

TEST_P(DestinationRoundTrip, AddDestinationParsesBack) {
  const auto& c = GetParam();
  const AddDestination op{.service = c.service, .key = c.key, .destination = c.destination};
  auto message = build_operation({.family = kFamily}, op);
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(command_of(*message), IPVS_CMD_NEW_DEST);
  auto service = parse_service(header_of(*message));
  ASSERT_TRUE(service.ok()) << service.error().message;
  EXPECT_EQ(service->key, c.service);
  auto parsed = parse_destination(header_of(*message), c.service.family());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->key, c.key);
  EXPECT_EQ(parsed->destination, c.destination);
}

INSTANTIATE_TEST_SUITE_P(
    Methods, DestinationRoundTrip,
    ::testing::Values(DestinationCase{"nat_with_port_mapping",
                                      ServiceKey::tcp(ip("10.0.0.1"), 80),
                                      {ip("192.168.1.2"), 8080},
                                      {.method = ForwardingMethod::kNat, .weight = 3}},
                      DestinationCase{"dr_thresholds",
                                      ServiceKey::tcp(ip("10.0.0.1"), 80),
                                      {ip("192.168.1.3"), 80},
                                      {.method = ForwardingMethod::kDirectRoute,
                                       .weight = 0,
                                       .upper_threshold = 1000,
                                       .lower_threshold = 10}},
                      DestinationCase{"tun_ipip",
                                      ServiceKey::udp(ip("10.0.0.1"), 53),
                                      {ip("192.168.1.4"), 53},
                                      {.method = ForwardingMethod::kTunnel, .weight = 100}},
                      DestinationCase{
                          "tun_gue_port_and_checksums",
                          ServiceKey::tcp(ip("10.0.0.1"), 80),
                          {ip("192.168.1.5"), 80},
                          {.method = ForwardingMethod::kTunnel,
                           .tunnel_type = TunnelType::kGue,
                           .tunnel_port = 6080,
                           .tunnel_flags = {.checksum = true, .remote_checksum = true}}},
                      DestinationCase{"tun_gre_checksum",
                                      ServiceKey::sctp(ip("10.0.0.1"), 9),
                                      {ip("192.168.1.6"), 9},
                                      {.method = ForwardingMethod::kTunnel,
                                       .tunnel_type = TunnelType::kGre,
                                       .tunnel_flags = {.checksum = true}}},
                      DestinationCase{"ipv6",
                                      ServiceKey::tcp(ip("2001:db8::1"), 80),
                                      {ip("2001:db8:1::2"), 80},
                                      {.method = ForwardingMethod::kDirectRoute, .weight = 5}},
                      DestinationCase{"mixed_family_v6_service_v4_dest",
                                      ServiceKey::tcp(ip("2001:db8::1"), 80),
                                      {ip("192.168.1.7"), 80},
                                      {.method = ForwardingMethod::kTunnel}},
                      DestinationCase{"fwmark_service",
                                      ServiceKey::firewall_mark(5, AddressFamily::kIpv4),
                                      {ip("192.168.1.8"), 0},
                                      {.method = ForwardingMethod::kDirectRoute, .weight = 2}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(IpvsMessages, DestinationWireLayoutMatchesTheKernelHeader) {
  const EditDestination op{.service = ServiceKey::tcp(ip("10.0.0.1"), 80),
                           .key = {ip("192.168.1.5"), 8443},
                           .destination = {.method = ForwardingMethod::kTunnel,
                                           .weight = 7,
                                           .tunnel_type = TunnelType::kGue,
                                           .tunnel_port = 6080,
                                           .tunnel_flags = {.checksum = true}}};
  auto message = build_operation({.family = kFamily}, op);
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(command_of(*message), IPVS_CMD_SET_DEST);
  auto nest = parse_nest(*message, IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
  auto** a = nest.attributes;
  EXPECT_EQ(nla_get_u16(a[IPVS_DEST_ATTR_PORT]), htons(8443));
  EXPECT_EQ(nla_get_u16(a[IPVS_DEST_ATTR_ADDR_FAMILY]), AF_INET);
  EXPECT_EQ(nla_get_u32(a[IPVS_DEST_ATTR_FWD_METHOD]), static_cast<uint32_t>(IP_VS_CONN_F_TUNNEL));
  EXPECT_EQ(nla_get_u32(a[IPVS_DEST_ATTR_WEIGHT]), 7U);
  EXPECT_EQ(nla_get_u8(a[IPVS_DEST_ATTR_TUN_TYPE]), IP_VS_CONN_F_TUNNEL_TYPE_GUE);
  EXPECT_EQ(nla_get_u16(a[IPVS_DEST_ATTR_TUN_PORT]), htons(6080));
  EXPECT_EQ(nla_get_u16(a[IPVS_DEST_ATTR_TUN_FLAGS]), IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
}

TEST(IpvsMessages, DeleteDestinationCarriesOnlyTheKeys) {
  const DeleteDestination op{.service = ServiceKey::tcp(ip("10.0.0.1"), 80),
                             .key = {ip("192.168.1.5"), 80}};
  auto message = build_operation({.family = kFamily}, op);
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(command_of(*message), IPVS_CMD_DEL_DEST);
  auto nest = parse_nest(*message, IPVS_CMD_ATTR_DEST, IPVS_DEST_ATTR_MAX);
  EXPECT_NE(nest.attributes[IPVS_DEST_ATTR_ADDR], nullptr);
  EXPECT_EQ(nest.attributes[IPVS_DEST_ATTR_WEIGHT], nullptr);
  EXPECT_EQ(nest.attributes[IPVS_DEST_ATTR_FWD_METHOD], nullptr);
}

TEST(IpvsMessages, RejectsWhatTheKernelWouldReject) {
  auto long_scheduler = build_operation({.family = kFamily},
                                        AddService{.key = ServiceKey::tcp(ip("10.0.0.1"), 80),
                                                   .service = {.scheduler = "a-sixteen-chars!"}});
  ASSERT_FALSE(long_scheduler.ok());
  EXPECT_NE(long_scheduler.error().message.find("longer than 15"), std::string::npos);

  auto long_netmask = build_operation(
      {.family = kFamily},
      AddService{.key = ServiceKey::tcp(ip("10.0.0.1"), 80), .service = {.netmask_prefix = 33}});
  EXPECT_FALSE(long_netmask.ok());

  auto no_interface = build_new_daemon({.family = kFamily}, SyncDaemonConfig{});
  EXPECT_FALSE(no_interface.ok());
}

TEST(IpvsMessages, FlushHasNoAttributes) {
  auto message = build_operation({.family = kFamily}, Flush{});
  ASSERT_TRUE(message.ok());
  EXPECT_EQ(command_of(*message), IPVS_CMD_FLUSH);
  EXPECT_EQ(genlmsg_attrlen(static_cast<genlmsghdr*>(nlmsg_data(header_of(*message))), 0), 0);
}

// A GET_SERVICE reply as the kernel writes it (ip_vs_genl_fill_service): HASHED set, both stats
// nests, a contiguous or a hand-made non-contiguous netmask.
Message kernel_service_reply(uint32_t netmask_network_order) {
  Message message(nlmsg_alloc());
  genlmsg_put(message.get(), 0, 1, kFamily, 0, NLM_F_MULTI, IPVS_CMD_NEW_SERVICE, 1);
  nlattr* service = nla_nest_start(message.get(), IPVS_CMD_ATTR_SERVICE);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_AF, AF_INET);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
  uint8_t address[16] = {10, 0, 0, 1};
  nla_put(message.get(), IPVS_SVC_ATTR_ADDR, sizeof address, address);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_PORT, htons(80));
  nla_put_string(message.get(), IPVS_SVC_ATTR_SCHED_NAME, "wrr");
  const ip_vs_flags flags{.flags = IP_VS_SVC_F_HASHED | IP_VS_SVC_F_PERSISTENT, .mask = ~0U};
  nla_put(message.get(), IPVS_SVC_ATTR_FLAGS, sizeof flags, &flags);
  nla_put_u32(message.get(), IPVS_SVC_ATTR_TIMEOUT, 360);
  nla_put_u32(message.get(), IPVS_SVC_ATTR_NETMASK, netmask_network_order);
  nlattr* stats = nla_nest_start(message.get(), IPVS_SVC_ATTR_STATS);
  nla_put_u32(message.get(), IPVS_STATS_ATTR_CONNS, 1);  // truncated 32-bit view
  nla_nest_end(message.get(), stats);
  nlattr* stats64 = nla_nest_start(message.get(), IPVS_SVC_ATTR_STATS64);
  nla_put_u64(message.get(), IPVS_STATS_ATTR_CONNS, 0x100000001ULL);
  nla_put_u64(message.get(), IPVS_STATS_ATTR_INBYTES, 123456789012ULL);
  nla_put_u64(message.get(), IPVS_STATS_ATTR_OUTPPS, 42);
  nla_nest_end(message.get(), stats64);
  nla_nest_end(message.get(), service);
  return message;
}

TEST(IpvsMessages, ParsesAKernelServiceReply) {
  auto message = kernel_service_reply(htonl(0xffffff00U));
  auto parsed = parse_service(header_of(message));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->key, ServiceKey::tcp(ip("10.0.0.1"), 80));
  EXPECT_EQ(parsed->service, (Service{.scheduler = "wrr",
                                      .flags = {.persistent = true},  // HASHED dropped
                                      .persistence_timeout = seconds(360),
                                      .netmask_prefix = 24}));
  EXPECT_EQ(parsed->stats.connections, 0x100000001ULL);  // STATS64 preferred over STATS
  EXPECT_EQ(parsed->stats.bytes_in, 123456789012ULL);
  EXPECT_EQ(parsed->stats.packets_out_per_second, 42U);
}

TEST(IpvsMessages, NonContiguousNetmaskIsReportedSoItGetsRepaired) {
  auto message = kernel_service_reply(htonl(0xff00ff00U));
  auto parsed = parse_service(header_of(message));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->service.netmask_prefix, kNonContiguousNetmask);
}

TEST(IpvsMessages, NetmaskPrefixConversions) {
  EXPECT_EQ(prefix_from_ipv4_netmask(0xffffffffU), 32);
  EXPECT_EQ(prefix_from_ipv4_netmask(0xffffff00U), 24);
  EXPECT_EQ(prefix_from_ipv4_netmask(0), 0);
  EXPECT_EQ(prefix_from_ipv4_netmask(0x80000000U), 1);
  EXPECT_EQ(prefix_from_ipv4_netmask(0xfffffff7U), kNonContiguousNetmask);
  EXPECT_EQ(ipv4_netmask_from_prefix(0), 0U);
  EXPECT_EQ(ipv4_netmask_from_prefix(1), 0x80000000U);
  EXPECT_EQ(ipv4_netmask_from_prefix(20), 0xfffff000U);
  EXPECT_EQ(ipv4_netmask_from_prefix(32), 0xffffffffU);
}

// A GET_DEST reply (ip_vs_genl_fill_dest): tunnel fields on every destination, connection
// counters, STATS only (an older kernel without STATS64), no ADDR_FAMILY (older kernels).
TEST(IpvsMessages, ParsesAKernelDestinationReply) {
  Message message(nlmsg_alloc());
  genlmsg_put(message.get(), 0, 1, kFamily, 0, NLM_F_MULTI, IPVS_CMD_NEW_DEST, 1);
  nlattr* dest = nla_nest_start(message.get(), IPVS_CMD_ATTR_DEST);
  uint8_t address[16] = {192, 168, 1, 2};
  nla_put(message.get(), IPVS_DEST_ATTR_ADDR, sizeof address, address);
  nla_put_u16(message.get(), IPVS_DEST_ATTR_PORT, htons(80));
  nla_put_u32(message.get(), IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_DROUTE);
  nla_put_u32(message.get(), IPVS_DEST_ATTR_WEIGHT, 4);
  nla_put_u8(message.get(), IPVS_DEST_ATTR_TUN_TYPE, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
  nla_put_u16(message.get(), IPVS_DEST_ATTR_TUN_PORT, htons(9999));
  nla_put_u32(message.get(), IPVS_DEST_ATTR_U_THRESH, 0);
  nla_put_u32(message.get(), IPVS_DEST_ATTR_L_THRESH, 0);
  nla_put_u32(message.get(), IPVS_DEST_ATTR_ACTIVE_CONNS, 3);
  nla_put_u32(message.get(), IPVS_DEST_ATTR_INACT_CONNS, 5);
  nla_put_u32(message.get(), IPVS_DEST_ATTR_PERSIST_CONNS, 1);
  nlattr* stats = nla_nest_start(message.get(), IPVS_DEST_ATTR_STATS);
  nla_put_u32(message.get(), IPVS_STATS_ATTR_INPKTS, 77);
  nla_put_u64(message.get(), IPVS_STATS_ATTR_OUTBYTES, 5000);
  nla_nest_end(message.get(), stats);
  nla_nest_end(message.get(), dest);

  auto parsed = parse_destination(header_of(message), AddressFamily::kIpv4);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->key, (DestinationKey{ip("192.168.1.2"), 80}));
  // A DR destination keeps the model's default tunnel fields whatever the kernel reports.
  EXPECT_EQ(parsed->destination,
            (Destination{.method = ForwardingMethod::kDirectRoute, .weight = 4}));
  EXPECT_EQ(parsed->stats.active_connections, 3U);
  EXPECT_EQ(parsed->stats.inactive_connections, 5U);
  EXPECT_EQ(parsed->stats.persistent_connections, 1U);
  EXPECT_EQ(parsed->stats.traffic.packets_in, 77U);
  EXPECT_EQ(parsed->stats.traffic.bytes_out, 5000U);
}

TEST(IpvsMessages, RejectsMalformedReplies) {
  // No service nest at all.
  auto empty = build_get_services({.family = kFamily});
  EXPECT_FALSE(parse_service(header_of(empty)).ok());

  // An unknown protocol, which the model cannot hold.
  Message message(nlmsg_alloc());
  genlmsg_put(message.get(), 0, 1, kFamily, 0, 0, IPVS_CMD_NEW_SERVICE, 1);
  nlattr* service = nla_nest_start(message.get(), IPVS_CMD_ATTR_SERVICE);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_AF, AF_INET);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_PROTOCOL, 50);  // ESP
  uint8_t address[4] = {10, 0, 0, 1};
  nla_put(message.get(), IPVS_SVC_ATTR_ADDR, sizeof address, address);
  nla_put_u16(message.get(), IPVS_SVC_ATTR_PORT, 0);
  nla_nest_end(message.get(), service);
  auto parsed = parse_service(header_of(message));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("protocol 50"), std::string::npos);

  // An IPv6 destination whose address is only 4 bytes long.
  Message short_address(nlmsg_alloc());
  genlmsg_put(short_address.get(), 0, 1, kFamily, 0, 0, IPVS_CMD_NEW_DEST, 1);
  nlattr* dest = nla_nest_start(short_address.get(), IPVS_CMD_ATTR_DEST);
  nla_put(short_address.get(), IPVS_DEST_ATTR_ADDR, sizeof address, address);
  nla_put_u16(short_address.get(), IPVS_DEST_ATTR_PORT, htons(80));
  nla_nest_end(short_address.get(), dest);
  EXPECT_FALSE(parse_destination(header_of(short_address), AddressFamily::kIpv6).ok());
}

TEST(IpvsMessages, SyncDaemonRoundTripsEveryAttribute) {
  for (const auto& group : {std::optional<IpAddress>{}, std::optional(ip("239.1.2.3")),
                            std::optional(ip("ff02::81"))}) {
    const SyncDaemonConfig config{.state = SyncDaemonState::kBackup,
                                  .interface = "eth1",
                                  .sync_id = 200,
                                  .max_length = 1400,
                                  .group = group,
                                  .port = 9000,
                                  .ttl = 4};
    auto message = build_new_daemon({.family = kFamily}, config);
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(command_of(*message), IPVS_CMD_NEW_DAEMON);
    auto parsed = parse_daemon(header_of(*message));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, config);
  }
  // The port travels in host byte order (ip_vs_sync.c converts it).
  auto message = build_new_daemon({.family = kFamily}, {.interface = "eth0", .port = 8848});
  ASSERT_TRUE(message.ok());
  auto nest = parse_nest(*message, IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MAX);
  EXPECT_EQ(nla_get_u16(nest.attributes[IPVS_DAEMON_ATTR_MCAST_PORT]), 8848);
  EXPECT_EQ(nla_get_u32(nest.attributes[IPVS_DAEMON_ATTR_STATE]),
            static_cast<uint32_t>(IP_VS_STATE_MASTER));

  auto stop = build_del_daemon({.family = kFamily}, SyncDaemonState::kBackup);
  EXPECT_EQ(command_of(stop), IPVS_CMD_DEL_DAEMON);
  auto stop_nest = parse_nest(stop, IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_MAX);
  EXPECT_EQ(nla_get_u32(stop_nest.attributes[IPVS_DAEMON_ATTR_STATE]),
            static_cast<uint32_t>(IP_VS_STATE_BACKUP));
}

TEST(IpvsMessages, TimeoutsRoundTrip) {
  const Timeouts timeouts{.tcp = seconds(900), .tcp_fin = seconds(120), .udp = seconds(300)};
  auto message = build_set_config({.family = kFamily}, timeouts);
  EXPECT_EQ(command_of(message), IPVS_CMD_SET_CONFIG);
  auto parsed = parse_config(header_of(message));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, timeouts);
}

TEST(IpvsMessages, ParsesInfo) {
  Message message(nlmsg_alloc());
  genlmsg_put(message.get(), 0, 1, kFamily, 0, 0, IPVS_CMD_SET_INFO, 1);
  nla_put_u32(message.get(), IPVS_INFO_ATTR_VERSION, 0x010201);
  nla_put_u32(message.get(), IPVS_INFO_ATTR_CONN_TAB_SIZE, 4096);
  auto info = parse_info(header_of(message));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->version_string(), "1.2.1");
  EXPECT_EQ(info->connection_table_size, 4096U);

  auto without_version = build_get_info({.family = kFamily});
  EXPECT_FALSE(parse_info(header_of(without_version)).ok());
}

}  // namespace
}  // namespace vigil::datapath::ipvs

namespace vigil::datapath::ipvs {
namespace {

// An NLMSG_ERROR as the kernel writes it (netlink_ack): nlmsgerr, the echoed request unless
// capped, then extended-ack attributes.
Message error_message(int error, uint16_t flags, size_t echoed_payload, const char* text) {
  Message message(nlmsg_alloc_simple(NLMSG_ERROR, flags));
  nlmsgerr header{.error = -error};
  header.msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + echoed_payload);
  nlmsg_append(message.get(), &header, sizeof header, NLMSG_ALIGNTO);
  if (echoed_payload > 0) {
    std::vector<char> payload(echoed_payload, 'x');
    nlmsg_append(message.get(), payload.data(), payload.size(), NLMSG_ALIGNTO);
  }
  if (text != nullptr) nla_put_string(message.get(), NLMSGERR_ATTR_MSG, text);
  return message;
}

TEST(IpvsAcknowledgement, PlainAcknowledgementIsSuccess) {
  auto message = error_message(0, 0, 0, nullptr);
  auto ack = parse_acknowledgement(header_of(message));
  EXPECT_EQ(ack.error, 0);
  EXPECT_EQ(ack.message, "");
}

TEST(IpvsAcknowledgement, CappedErrorWithExtendedAckText) {
  auto message = error_message(EEXIST, NLM_F_CAPPED | NLM_F_ACK_TLVS, 0, "already there");
  auto ack = parse_acknowledgement(header_of(message));
  EXPECT_EQ(ack.error, EEXIST);
  EXPECT_EQ(ack.message, "already there");
}

TEST(IpvsAcknowledgement, ExtendedAckTextAfterAnEchoedRequest) {
  auto message = error_message(EINVAL, NLM_F_ACK_TLVS, 24, "bad attribute");
  auto ack = parse_acknowledgement(header_of(message));
  EXPECT_EQ(ack.error, EINVAL);
  EXPECT_EQ(ack.message, "bad attribute");
}

TEST(IpvsAcknowledgement, ErrorWithoutTextAndTruncatedMessages) {
  auto message = error_message(ESRCH, NLM_F_CAPPED, 0, nullptr);
  EXPECT_EQ(parse_acknowledgement(header_of(message)).error, ESRCH);

  nlmsghdr truncated{.nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = NLMSG_ERROR};
  EXPECT_EQ(parse_acknowledgement(&truncated).error, EBADMSG);
}

}  // namespace
}  // namespace vigil::datapath::ipvs

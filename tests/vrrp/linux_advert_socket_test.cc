// LinuxAdvertSocket between two network namespaces: what one socket sends, the other receives
// and decodes, with the IP-layer fields RFC 5798 requires (TTL / hop limit 255), for VRRPv2 and
// v3, IPv4 and IPv6, multicast and unicast.
#include "vrrp/linux_advert_socket.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <vector>

#include "fakes/fake_scheduler.h"
#include "vrrp/fake_host.h"
#include "vrrp/instance.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_netns.h"
#include "vrrp/packet.h"

namespace vigil::vrrp {
namespace {

using namespace std::chrono_literals;
using netns::InNetns;
using netns::kInterface;

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

std::unique_ptr<LinuxAdvertSocket> open_socket(AdvertSocketOptions options) {
  auto socket = LinuxAdvertSocket::open(std::move(options));
  if (!socket) ADD_FAILURE() << socket.error().message;
  return socket ? std::move(*socket) : nullptr;
}

struct Received {
  RawAdvertMessage raw;        // spans not valid after the drain
  std::vector<uint8_t> bytes;  // the copy
};

// Collects what `socket` receives for up to `timeout`, until `count` messages arrived.
std::vector<Received> receive(LinuxAdvertSocket& socket, size_t count,
                              std::chrono::milliseconds timeout = 2000ms) {
  std::vector<Received> out;
  netns::pump_until(
      socket.fd(),
      [&] {
        socket.drain([&](const RawAdvertMessage& message) {
          out.push_back({message, {message.bytes.begin(), message.bytes.end()}});
        });
      },
      [&] { return out.size() >= count; }, timeout);
  return out;
}

// The VRRP frames a PacketCapture sees: IPv4 or IPv6 carrying IP protocol 112.
std::vector<std::vector<uint8_t>> capture_vrrp_frame(netns::PacketCapture& capture, bool v4) {
  return capture.collect(
      [&](const std::vector<uint8_t>& frame) {
        if (v4) return netns::ethertype(frame) == 0x0800 && frame.size() >= 34 && frame[23] == 112;
        return netns::ethertype(frame) == 0x86dd && frame.size() >= 54 && frame[20] == 112;
      },
      1, 1000ms);
}

// Every VRID is known with the policy of `advert`.
VridLookup policy_for(const Advert& advert) {
  static ReceivePolicy policy;
  policy = ReceivePolicy{.version = advert.version,
                         .advert_interval = advert.advert_interval,
                         .auth_type = advert.auth_type,
                         .auth_data = advert.auth_data};
  return [](uint8_t) { return &policy; };
}

Advert sample_advert(uint8_t version, AddressFamily family) {
  Advert advert{.version = version, .vrid = 42, .priority = 150, .advert_interval = 1s};
  if (family == AddressFamily::kIpv4) {
    advert.addresses = {ip("192.0.2.200"), ip("192.0.2.201")};
  } else {
    advert.addresses = {ip("2001:db8::200")};
  }
  if (version == 2) {
    advert.auth_type = AuthType::kSimplePassword;
    advert.auth_data = password_auth_data("secret");
  }
  return advert;
}

struct Case {
  const char* name;
  uint8_t version;
  AddressFamily family;
  bool unicast;
  bool link_local = false;  // IPv6 unicast between link-local addresses (needs the scope id)
};

class AdvertSocketTest : public ::testing::TestWithParam<Case> {};

TEST_P(AdvertSocketTest, PeerReceivesAndDecodesWithTtl255) {
  const Case& c = GetParam();
  const bool v4 = c.family == AddressFamily::kIpv4;
  std::unique_ptr<LinuxAdvertSocket> receiver;
  std::unique_ptr<netns::PacketCapture> capture;
  std::optional<IpAddress> peer_link_local;
  {
    InNetns peer(netns::peer_namespace());
    receiver =
        open_socket({.interface = kInterface, .family = c.family, .join_multicast = !c.unicast});
    capture = std::make_unique<netns::PacketCapture>(kInterface);
    if (auto address = interface_primary_address(kInterface, AddressFamily::kIpv6); address)
      peer_link_local = *address;
  }
  auto sender = open_socket({.interface = kInterface, .family = c.family});
  ASSERT_TRUE(receiver && sender);

  // Multicast v3 over IPv6 comes from the link-local address (RFC 5798 §5.1.2.1); unicast from
  // the configured unicast_src_ip.
  IpAddress source = v4 ? netns::kSelf4 : netns::kSelf6;
  if (!v4 && (!c.unicast || c.link_local)) {
    auto link_local = interface_primary_address(kInterface, AddressFamily::kIpv6);
    ASSERT_TRUE(link_local) << link_local.error().message;
    ASSERT_TRUE(link_local->is_link_local());
    source = *link_local;
  }
  IpAddress destination =
      c.unicast ? (v4 ? netns::kPeer4 : netns::kPeer6) : multicast_group(c.family);
  if (c.link_local) {
    ASSERT_TRUE(peer_link_local);
    destination = *peer_link_local;
  }
  const Advert advert = sample_advert(c.version, c.family);
  const auto bytes = encode(advert, {.source = source, .destination = destination});
  Status sent = sender->send(
      {.interface = kInterface, .source = source, .destination = destination, .bytes = bytes});
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  EXPECT_EQ(sender->counters().sent, 1U);

  auto messages = receive(*receiver, 1);
  ASSERT_EQ(messages.size(), 1U);
  const RawAdvertMessage& raw = messages[0].raw;
  EXPECT_EQ(raw.source, source);
  EXPECT_EQ(raw.destination, destination);
  EXPECT_EQ(raw.ttl, kRequiredTtl);
  const auto decoded =
      v4 ? decode_ipv4(messages[0].bytes, policy_for(advert))
         : decode_ipv6(raw.source, raw.destination, raw.ttl, messages[0].bytes, policy_for(advert));
  ASSERT_TRUE(decoded.ok()) << to_string(decoded.reason());
  EXPECT_EQ(decoded.advert(), advert);

  // On the wire: TTL / hop limit 255 and TOS / traffic class "internetwork control" (0xc0).
  auto frames = capture_vrrp_frame(*capture, v4);
  ASSERT_EQ(frames.size(), 1U);
  const auto& frame = frames[0];
  if (v4) {
    EXPECT_EQ(frame[14 + 1], 0xc0) << "TOS";
    EXPECT_EQ(frame[14 + 8], 255) << "TTL";
    EXPECT_EQ(frame[14 + 6] & 0x40, 0) << "DF is clear, as keepalived sends adverts";
  } else {
    const int traffic_class = (frame[14] & 0x0f) << 4 | frame[15] >> 4;
    EXPECT_EQ(traffic_class, 0xc0);
    EXPECT_EQ(frame[14 + 7], 255) << "hop limit";
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, AdvertSocketTest,
                         ::testing::Values(Case{"V2Ipv4Multicast", 2, AddressFamily::kIpv4, false},
                                           Case{"V3Ipv4Multicast", 3, AddressFamily::kIpv4, false},
                                           Case{"V3Ipv6Multicast", 3, AddressFamily::kIpv6, false},
                                           Case{"V2Ipv4Unicast", 2, AddressFamily::kIpv4, true},
                                           Case{"V3Ipv4Unicast", 3, AddressFamily::kIpv4, true},
                                           Case{"V3Ipv6Unicast", 3, AddressFamily::kIpv6, true},
                                           Case{"V3Ipv6UnicastLinkLocal", 3, AddressFamily::kIpv6,
                                                true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// The daemon's path: drain() into an AdvertReceiver hands the advert to the instance of its VRID.
TEST(AdvertSocket, DrainFeedsAdvertReceiverAndInstance) {
  std::unique_ptr<LinuxAdvertSocket> receiving;
  {
    InNetns peer(netns::peer_namespace());
    receiving = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
  }
  auto sender = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
  ASSERT_TRUE(receiving && sender);

  vigil::testing::FakeScheduler scheduler;
  testing::FakeVipManager vips(scheduler);
  InstanceConfig config{.name = "VI_1",
                        .interface = kInterface,
                        .vrid = 42,
                        .priority = 100,
                        .version = 3,
                        .primary_address = netns::kPeer4};
  Instance instance(config, scheduler, *receiving, vips);
  AdvertReceiver receiver;
  receiver.add(instance);

  Advert advert = sample_advert(3, AddressFamily::kIpv4);
  const IpAddress group = multicast_group(AddressFamily::kIpv4);
  auto good = encode(advert, {.source = netns::kSelf4, .destination = group});
  advert.vrid = 43;  // no instance: rejected as kUnknownVrid
  auto unknown = encode(advert, {.source = netns::kSelf4, .destination = group});
  for (const auto* bytes : {&good, &unknown}) {
    Status sent = sender->send({.source = netns::kSelf4, .destination = group, .bytes = *bytes});
    ASSERT_TRUE(sent.ok()) << sent.error().message;
  }
  netns::pump_until(
      receiving->fd(), [&] { receiving->drain(receiver); },
      [&] { return instance.counters().adverts_received + receiver.rejects().total() >= 2; },
      2000ms);
  EXPECT_EQ(instance.counters().adverts_received, 1U);
  EXPECT_EQ(receiver.rejects()[RejectReason::kUnknownVrid], 1U);
  EXPECT_EQ(receiving->counters().received, 2U);
  receiver.remove(instance);
}

// keepalived's unicast_ttl: the TTL / hop limit an OutgoingAdvert asks for goes on the wire
// (per message; the socket's own stays 255), and the receiver sees it.
TEST(AdvertSocket, UnicastTtlGoesOnTheWire) {
  for (const AddressFamily family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    SCOPED_TRACE(family == AddressFamily::kIpv4 ? "IPv4" : "IPv6");
    const bool v4 = family == AddressFamily::kIpv4;
    std::unique_ptr<LinuxAdvertSocket> receiver;
    std::unique_ptr<netns::PacketCapture> capture;
    {
      InNetns peer(netns::peer_namespace());
      receiver = open_socket({.interface = kInterface, .family = family, .join_multicast = false});
      capture = std::make_unique<netns::PacketCapture>(kInterface);
    }
    auto sender = open_socket({.interface = kInterface, .family = family});
    ASSERT_TRUE(receiver && sender);
    const IpAddress source = v4 ? netns::kSelf4 : netns::kSelf6;
    const IpAddress destination = v4 ? netns::kPeer4 : netns::kPeer6;
    const auto bytes =
        encode(sample_advert(3, family), {.source = source, .destination = destination});
    for (const uint8_t ttl : {uint8_t{64}, uint8_t{255}}) {
      Status sent =
          sender->send({.source = source, .destination = destination, .bytes = bytes, .ttl = ttl});
      ASSERT_TRUE(sent.ok()) << sent.error().message;
      auto messages = receive(*receiver, 1);
      ASSERT_EQ(messages.size(), 1U);
      EXPECT_EQ(messages[0].raw.ttl, ttl);
      auto frames = capture_vrrp_frame(*capture, v4);
      ASSERT_EQ(frames.size(), 1U);
      EXPECT_EQ(frames[0][v4 ? 14 + 8 : 14 + 7], ttl) << "TTL / hop limit on the wire";
    }
  }
}

// The TTL / hop limit handed to the decoder is the one on the wire (for IPv6 it comes from
// IPV6_HOPLIMIT ancillary data): an advert that crossed a router is dropped (RFC 5798 §7.1).
TEST(AdvertSocket, AdvertWithLowerTtlIsRejected) {
  for (const AddressFamily family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    SCOPED_TRACE(family == AddressFamily::kIpv4 ? "IPv4" : "IPv6");
    std::unique_ptr<LinuxAdvertSocket> receiving;
    {
      InNetns peer(netns::peer_namespace());
      receiving = open_socket({.interface = kInterface, .family = family});
    }
    auto sender = open_socket({.interface = kInterface, .family = family});
    ASSERT_TRUE(receiving && sender);
    // As if a router had forwarded it.
    const int ttl = 64;
    if (family == AddressFamily::kIpv4) {
      ASSERT_EQ(setsockopt(sender->fd(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)), 0);
    } else {
      ASSERT_EQ(setsockopt(sender->fd(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)), 0);
    }

    vigil::testing::FakeScheduler scheduler;
    testing::FakeVipManager vips(scheduler);
    Instance instance(
        InstanceConfig{
            .name = "VI_1",
            .interface = kInterface,
            .vrid = 42,
            .version = 3,
            .family = family,
            .primary_address = family == AddressFamily::kIpv4 ? netns::kPeer4 : netns::kPeer6},
        scheduler, *receiving, vips);
    AdvertReceiver receiver;
    receiver.add(instance);
    IpAddress source = netns::kSelf4;
    if (family == AddressFamily::kIpv6) {
      auto link_local = interface_primary_address(kInterface, family);
      ASSERT_TRUE(link_local);
      source = *link_local;
    }
    const IpAddress group = multicast_group(family);
    const auto bytes = encode(sample_advert(3, family), {.source = source, .destination = group});
    ASSERT_TRUE(sender->send({.source = source, .destination = group, .bytes = bytes}).ok());
    netns::pump_until(
        receiving->fd(), [&] { receiving->drain(receiver); },
        [&] { return receiver.rejects().total() + instance.counters().adverts_received > 0; },
        2000ms);
    EXPECT_EQ(receiver.rejects()[RejectReason::kBadTtl], 1U);
    EXPECT_EQ(instance.counters().adverts_received, 0U);
    receiver.remove(instance);
  }
}

TEST(AdvertSocket, DoesNotReceiveItsOwnMulticast) {
  std::unique_ptr<LinuxAdvertSocket> peer_socket;
  {
    InNetns peer(netns::peer_namespace());
    peer_socket = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
  }
  auto socket = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
  ASSERT_TRUE(peer_socket && socket);
  const IpAddress group = multicast_group(AddressFamily::kIpv4);
  const auto bytes = encode(sample_advert(3, AddressFamily::kIpv4),
                            {.source = netns::kSelf4, .destination = group});
  ASSERT_TRUE(socket->send({.source = netns::kSelf4, .destination = group, .bytes = bytes}).ok());
  // Once the peer has it, our own copy would have been looped back already.
  ASSERT_EQ(receive(*peer_socket, 1).size(), 1U);
  EXPECT_EQ(receive(*socket, 1, 200ms).size(), 0U);
}

// SO_BINDTODEVICE: a socket hears only its own interface, although both are in one namespace.
TEST(AdvertSocket, ReceivesOnlyOnItsInterface) {
  const std::string peer = netns::peer_namespace();
  ASSERT_EQ(netns::run_command("ip link add bd0 type veth peer name bd1 netns " + peer).status, 0);
  ASSERT_EQ(netns::run_command("ip addr add 198.51.100.1/24 dev bd0").status, 0);
  ASSERT_EQ(netns::run_command("ip -n " + peer + " addr add 198.51.100.2/24 dev bd1").status, 0);
  ASSERT_EQ(netns::run_command("ip -n " + peer + " link set bd1 up").status, 0);
  ASSERT_EQ(netns::run_command("ip link set bd0 up").status, 0);
  std::unique_ptr<LinuxAdvertSocket> on_eth0;
  std::unique_ptr<LinuxAdvertSocket> on_bd1;
  {
    InNetns in_peer(peer);
    on_eth0 = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
    on_bd1 = open_socket({.interface = "bd1", .family = AddressFamily::kIpv4});
  }
  auto sender = open_socket({.interface = "bd0", .family = AddressFamily::kIpv4});
  ASSERT_TRUE(on_eth0 && on_bd1 && sender);
  const IpAddress source = ip("198.51.100.1");
  const IpAddress group = multicast_group(AddressFamily::kIpv4);
  const auto bytes =
      encode(sample_advert(3, AddressFamily::kIpv4), {.source = source, .destination = group});
  // The veth needs a moment for its carrier: send until bd1 hears one (bounded: 3 s).
  std::vector<Received> heard;
  for (int round = 0; round < 30 && heard.empty(); ++round) {
    ASSERT_TRUE(sender->send({.source = source, .destination = group, .bytes = bytes}).ok());
    heard = receive(*on_bd1, 1, 100ms);
  }
  ASSERT_EQ(heard.size(), 1U);
  EXPECT_EQ(heard[0].raw.source, source);
  EXPECT_EQ(receive(*on_eth0, 1, 100ms).size(), 0U);
  ASSERT_EQ(netns::run_command("ip link del bd0").status, 0);
}

TEST(AdvertSocket, ConfiguredMulticastGroupIsJoined) {
  const IpAddress group = ip("239.255.0.18");
  std::unique_ptr<LinuxAdvertSocket> peer_socket;
  {
    InNetns peer(netns::peer_namespace());
    peer_socket = open_socket(
        {.interface = kInterface, .family = AddressFamily::kIpv4, .multicast_group = group});
  }
  auto socket = open_socket(
      {.interface = kInterface, .family = AddressFamily::kIpv4, .join_multicast = false});
  ASSERT_TRUE(peer_socket && socket);
  const auto bytes = encode(sample_advert(2, AddressFamily::kIpv4),
                            {.source = netns::kSelf4, .destination = group});
  ASSERT_TRUE(socket->send({.source = netns::kSelf4, .destination = group, .bytes = bytes}).ok());
  auto messages = receive(*peer_socket, 1);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].raw.destination, group);
}

TEST(AdvertSocket, SocketOptionsForAdverts) {
  for (const AddressFamily family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
    auto socket = open_socket({.interface = kInterface, .family = family});
    ASSERT_TRUE(socket);
    auto get = [&](int level, int name) {
      int value = -1;
      socklen_t size = sizeof(value);
      EXPECT_EQ(getsockopt(socket->fd(), level, name, &value, &size), 0);
      return value;
    };
    EXPECT_EQ(get(SOL_SOCKET, SO_PRIORITY), 7) << "TC_PRIO_CONTROL";
    EXPECT_GE(get(SOL_SOCKET, SO_RCVBUF), 256 * 1024);
    std::array<char, IFNAMSIZ> device{};
    socklen_t size = device.size();
    ASSERT_EQ(getsockopt(socket->fd(), SOL_SOCKET, SO_BINDTODEVICE, device.data(), &size), 0);
    EXPECT_STREQ(device.data(), kInterface);
    if (family == AddressFamily::kIpv4) {
      EXPECT_EQ(get(IPPROTO_IP, IP_MULTICAST_LOOP), 0);
    } else {
      EXPECT_EQ(get(IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 0);
      EXPECT_EQ(get(IPPROTO_IPV6, IPV6_UNICAST_HOPS), 255);
    }
  }
}

TEST(AdvertSocket, ErrorsNameTheProblem) {
  auto missing = LinuxAdvertSocket::open({.interface = "nosuchif0"});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nosuchif0"), std::string::npos);

  auto bad_group = LinuxAdvertSocket::open(
      {.interface = kInterface, .family = AddressFamily::kIpv4, .multicast_group = ip("10.0.0.1")});
  ASSERT_FALSE(bad_group);
  EXPECT_NE(bad_group.error().message.find("not an IPv4 multicast group"), std::string::npos)
      << bad_group.error().message;

  auto socket = open_socket({.interface = kInterface, .family = AddressFamily::kIpv4});
  ASSERT_TRUE(socket);
  Status wrong_family = socket->send({.source = netns::kSelf6,
                                      .destination = multicast_group(AddressFamily::kIpv6),
                                      .bytes = {1, 2, 3}});
  EXPECT_FALSE(wrong_family.ok());
  // A source that is not ours: the kernel refuses it rather than sending a spoofed advert.
  Status foreign = socket->send({.source = ip("198.51.100.7"),
                                 .destination = multicast_group(AddressFamily::kIpv4),
                                 .bytes = {1, 2, 3}});
  EXPECT_FALSE(foreign.ok());
  EXPECT_EQ(socket->counters().send_failures, 2U);
  EXPECT_EQ(socket->counters().sent, 0U);
}

TEST(InterfacePrimaryAddress, FirstPrimaryIpv4AndLinkLocalIpv6) {
  auto v4 = interface_primary_address(kInterface, AddressFamily::kIpv4);
  ASSERT_TRUE(v4) << v4.error().message;
  EXPECT_EQ(*v4, netns::kSelf4);
  // A secondary address in the same subnet does not displace the primary.
  ASSERT_EQ(netns::run_command("ip addr add 192.0.2.9/24 dev eth0").status, 0);
  v4 = interface_primary_address(kInterface, AddressFamily::kIpv4);
  ASSERT_TRUE(v4);
  EXPECT_EQ(*v4, netns::kSelf4);
  ASSERT_EQ(netns::run_command("ip addr del 192.0.2.9/24 dev eth0").status, 0);

  auto v6 = interface_primary_address(kInterface, AddressFamily::kIpv6);
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_TRUE(v6->is_link_local()) << v6->to_string();

  auto lo6 = interface_primary_address("lo", AddressFamily::kIpv6);
  EXPECT_FALSE(lo6) << "lo has no link-local address";
}

}  // namespace
}  // namespace vigil::vrrp

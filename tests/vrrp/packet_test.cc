#include "vrrp/packet.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <vector>

namespace vigil::vrrp {
namespace {

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

// Test vectors captured with tcpdump -xx from Debian's keepalived 2.2.7 (run in a network
// namespace, source 192.0.2.1 / fe80::684a:faff:fe17:5450), Ethernet header removed.

// VRRPv2, vrid 51, priority 100, advert_int 1, auth_type PASS "secret", 192.0.2.100 and .101.
const std::vector<uint8_t> kKeepalivedV2Datagram = {
    0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x8d, 0xc0, 0x00, 0x02,
    0x01, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x64, 0x02, 0x01, 0x01, 0xb8, 0xb2, 0xc0, 0x00,
    0x02, 0x64, 0xc0, 0x00, 0x02, 0x65, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x00, 0x00};

// VRRPv3 over IPv4, vrid 52, priority 150, advert_int 0.5 (50 cs), 192.0.2.110.
const std::vector<uint8_t> kKeepalivedV3Datagram = {
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x99, 0xc0, 0x00, 0x02, 0x01,
    0xe0, 0x00, 0x00, 0x12, 0x31, 0x34, 0x96, 0x01, 0x00, 0x32, 0xd3, 0x98, 0xc0, 0x00, 0x02, 0x6e};

// VRRPv3 over IPv6 (payload only, as the kernel delivers it), vrid 53, priority 200, 100 cs,
// 2001:db8::100 and 2001:db8::101.
const std::vector<uint8_t> kKeepalivedV6Payload = {
    0x31, 0x35, 0xc8, 0x02, 0x00, 0x64, 0xf5, 0x0f, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01};
const IpAddress kKeepalivedV6Source = *IpAddress::parse("fe80::684a:faff:fe17:5450");

// Per-VRID receive policies as the instance configs above would produce them.
struct Policies {
  std::map<uint8_t, ReceivePolicy> by_vrid;
  VridLookup lookup() const {
    return [this](uint8_t vrid) -> const ReceivePolicy* {
      auto it = by_vrid.find(vrid);
      return it == by_vrid.end() ? nullptr : &it->second;
    };
  }
};

Policies keepalived_policies() {
  Policies p;
  p.by_vrid[51] = {.version = 2,
                   .advert_interval = 1s,
                   .auth_type = AuthType::kSimplePassword,
                   .auth_data = password_auth_data("secret")};
  p.by_vrid[52] = {.version = 3};
  p.by_vrid[53] = {.version = 3};
  return p;
}

TEST(VrrpPacket, DecodesKeepalivedV2) {
  auto policies = keepalived_policies();
  auto result = decode_ipv4(kKeepalivedV2Datagram, policies.lookup());
  ASSERT_TRUE(result.ok()) << to_string(result.reason());
  EXPECT_EQ(result.value().ip.source, ip("192.0.2.1"));
  EXPECT_EQ(result.value().ip.destination, ip("224.0.0.18"));
  EXPECT_EQ(result.value().ip.ttl, 255);
  const Advert expected{.version = 2,
                        .vrid = 51,
                        .priority = 100,
                        .advert_interval = 1s,
                        .addresses = {ip("192.0.2.100"), ip("192.0.2.101")},
                        .auth_type = AuthType::kSimplePassword,
                        .auth_data = password_auth_data("secret")};
  EXPECT_EQ(result.advert(), expected);
}

TEST(VrrpPacket, EncodesKeepalivedV2BytesExactly) {
  const Advert advert{.version = 2,
                      .vrid = 51,
                      .priority = 100,
                      .advert_interval = 1s,
                      .addresses = {ip("192.0.2.100"), ip("192.0.2.101")},
                      .auth_type = AuthType::kSimplePassword,
                      .auth_data = password_auth_data("secret")};
  auto bytes = encode(
      advert, {.source = ip("192.0.2.1"), .destination = multicast_group(AddressFamily::kIpv4)});
  EXPECT_EQ(bytes,
            std::vector<uint8_t>(kKeepalivedV2Datagram.begin() + 20, kKeepalivedV2Datagram.end()));
}

TEST(VrrpPacket, DecodesKeepalivedV3OverIpv4) {
  auto policies = keepalived_policies();
  auto result = decode_ipv4(kKeepalivedV3Datagram, policies.lookup());
  ASSERT_TRUE(result.ok()) << to_string(result.reason());
  const Advert expected{.version = 3,
                        .vrid = 52,
                        .priority = 150,
                        .advert_interval = 500ms,
                        .addresses = {ip("192.0.2.110")}};
  EXPECT_EQ(result.advert(), expected);
}

TEST(VrrpPacket, EncodesKeepalivedV3Ipv4BytesAndHeaderExactly) {
  const Advert advert{.version = 3,
                      .vrid = 52,
                      .priority = 150,
                      .advert_interval = 500ms,
                      .addresses = {ip("192.0.2.110")}};
  auto payload = encode(advert, {.source = ip("192.0.2.1"), .destination = ip("224.0.0.18")});
  auto header = build_ipv4_header(ip("192.0.2.1"), ip("224.0.0.18"), payload.size(), 1);
  std::vector<uint8_t> datagram(header.begin(), header.end());
  datagram.insert(datagram.end(), payload.begin(), payload.end());
  EXPECT_EQ(datagram, kKeepalivedV3Datagram);
}

TEST(VrrpPacket, DecodesKeepalivedV3OverIpv6) {
  auto policies = keepalived_policies();
  auto result = decode_ipv6(kKeepalivedV6Source, ip("ff02::12"), 255, kKeepalivedV6Payload,
                            policies.lookup());
  ASSERT_TRUE(result.ok()) << to_string(result.reason());
  const Advert expected{.version = 3,
                        .vrid = 53,
                        .priority = 200,
                        .advert_interval = 1s,
                        .addresses = {ip("2001:db8::100"), ip("2001:db8::101")}};
  EXPECT_EQ(result.advert(), expected);
}

TEST(VrrpPacket, EncodesKeepalivedV3Ipv6BytesExactly) {
  const Advert advert{.version = 3,
                      .vrid = 53,
                      .priority = 200,
                      .advert_interval = 1s,
                      .addresses = {ip("2001:db8::100"), ip("2001:db8::101")}};
  EXPECT_EQ(encode(advert, {.source = kKeepalivedV6Source, .destination = ip("ff02::12")}),
            kKeepalivedV6Payload);
}

// Hand-computed from the RFC 3768 §5.1 layout: vrid 1, priority 255, one address 10.0.0.1,
// no authentication, 1 s. Sum of words 0x2101+0xff01+0x0001+0x0a00+0x0001 = 0x12a04 -> 0x2a05,
// checksum = ~0x2a05 = 0xd5fa.
TEST(VrrpPacket, EncodesHandComputedV2Vector) {
  const Advert advert{.version = 2,
                      .vrid = 1,
                      .priority = 255,
                      .advert_interval = 1s,
                      .addresses = {ip("10.0.0.1")}};
  const std::vector<uint8_t> expected = {0x21, 0x01, 0xff, 0x01, 0x00, 0x01, 0xd5, 0xfa, 0x0a, 0x00,
                                         0x00, 0x01, 0,    0,    0,    0,    0,    0,    0,    0};
  EXPECT_EQ(encode(advert, {.source = ip("10.0.0.1"), .destination = ip("224.0.0.18")}), expected);
}

struct RoundTripCase {
  const char* name;
  Advert advert;
  IpAddress source;
  IpAddress destination;
  bool v3_checksum_as_v2 = false;
};

class VrrpPacketRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

std::vector<IpAddress> many_v4(size_t n) {
  std::vector<IpAddress> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(IpAddress::v4(0x0a000000 + static_cast<uint32_t>(i)));
  return out;
}

std::vector<IpAddress> many_v6(size_t n) {
  std::vector<IpAddress> out;
  for (size_t i = 0; i < n; ++i) {
    const IpAddress base = ip("2001:db8::");
    uint8_t b[16];
    std::copy(base.bytes(), base.bytes() + 16, b);
    b[15] = static_cast<uint8_t>(i);
    b[14] = static_cast<uint8_t>(i >> 8);
    out.push_back(IpAddress::from_bytes(AddressFamily::kIpv6, b));
  }
  return out;
}

TEST_P(VrrpPacketRoundTrip, DecodeOfEncodeIsIdentity) {
  const auto& c = GetParam();
  ReceivePolicy policy{.version = c.advert.version,
                       .advert_interval = c.advert.advert_interval,
                       .auth_type = c.advert.auth_type,
                       .auth_data = c.advert.auth_data,
                       .v3_checksum_as_v2 = c.v3_checksum_as_v2};
  VridLookup lookup = [&](uint8_t vrid) { return vrid == c.advert.vrid ? &policy : nullptr; };
  auto bytes = encode(
      c.advert,
      {.source = c.source, .destination = c.destination, .v3_checksum_as_v2 = c.v3_checksum_as_v2});
  IpFacts facts{.source = c.source, .destination = c.destination, .ttl = 255};
  auto result = decode(facts, bytes, lookup);
  ASSERT_TRUE(result.ok()) << to_string(result.reason());
  EXPECT_EQ(result.advert(), c.advert);

  if (c.source.is_v4()) {
    auto header = build_ipv4_header(c.source, c.destination, bytes.size(), 7);
    std::vector<uint8_t> datagram(header.begin(), header.end());
    datagram.insert(datagram.end(), bytes.begin(), bytes.end());
    auto via_ip = decode_ipv4(datagram, lookup);
    ASSERT_TRUE(via_ip.ok()) << to_string(via_ip.reason());
    EXPECT_EQ(via_ip.advert(), c.advert);
    EXPECT_EQ(via_ip.value().ip.source, c.source);
    EXPECT_EQ(via_ip.value().ip.destination, c.destination);
    EXPECT_EQ(internet_checksum(header), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VrrpPacketRoundTrip,
    ::testing::Values(RoundTripCase{"v2_no_auth",
                                    {.version = 2,
                                     .vrid = 7,
                                     .priority = 1,
                                     .advert_interval = 255s,
                                     .addresses = {ip("192.168.1.1")}},
                                    ip("192.168.1.2"),
                                    ip("224.0.0.18")},
                      RoundTripCase{"v2_password_255_addresses",
                                    {.version = 2,
                                     .vrid = 255,
                                     .priority = 254,
                                     .advert_interval = 3s,
                                     .addresses = many_v4(255),
                                     .auth_type = AuthType::kSimplePassword,
                                     .auth_data = password_auth_data("longer-than-8")},
                                    ip("10.1.1.1"),
                                    ip("10.1.1.2")},
                      RoundTripCase{"v2_no_addresses",
                                    {.version = 2, .vrid = 1, .priority = 0, .advert_interval = 1s},
                                    ip("10.1.1.1"),
                                    ip("224.0.0.18")},
                      RoundTripCase{"v3_ipv4_10ms",
                                    {.version = 3,
                                     .vrid = 9,
                                     .priority = 0,
                                     .advert_interval = 10ms,
                                     .addresses = {ip("10.0.0.9"), ip("10.0.0.10")}},
                                    ip("10.0.0.2"),
                                    ip("224.0.0.18")},
                      RoundTripCase{"v3_ipv4_max_interval_unicast",
                                    {.version = 3,
                                     .vrid = 200,
                                     .priority = 255,
                                     .advert_interval = 40950ms,
                                     .addresses = many_v4(255)},
                                    ip("10.0.0.2"),
                                    ip("10.0.0.3")},
                      RoundTripCase{"v3_ipv4_checksum_as_v2",
                                    {.version = 3,
                                     .vrid = 3,
                                     .priority = 90,
                                     .advert_interval = 1s,
                                     .addresses = {ip("10.0.0.9")}},
                                    ip("10.0.0.2"),
                                    ip("224.0.0.18"),
                                    true},
                      RoundTripCase{"v3_ipv6_255_addresses",
                                    {.version = 3,
                                     .vrid = 4,
                                     .priority = 100,
                                     .advert_interval = 20ms,
                                     .addresses = many_v6(255)},
                                    ip("fe80::1"),
                                    ip("ff02::12")}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- one test per reject reason -------------------------------------------------------------

class VrrpPacketReject : public ::testing::Test {
 protected:
  Policies policies = keepalived_policies();
  RejectCounters counters;

  // Decodes and counts, as the receive path does.
  RejectReason reject_ipv4(const std::vector<uint8_t>& datagram) {
    auto result = decode_ipv4(datagram, policies.lookup());
    EXPECT_FALSE(result.ok());
    if (result.ok()) return RejectReason::kCount;
    counters.count(result.reason());
    return result.reason();
  }
  RejectReason reject_v6(const std::vector<uint8_t>& payload, uint8_t hop_limit = 255) {
    auto result =
        decode_ipv6(kKeepalivedV6Source, ip("ff02::12"), hop_limit, payload, policies.lookup());
    EXPECT_FALSE(result.ok());
    if (result.ok()) return RejectReason::kCount;
    counters.count(result.reason());
    return result.reason();
  }

  // Re-encodes a VRRP message after a field edit so that only the edited field is wrong. For
  // the v2 datagram (20-byte header) the VRRP checksum is recomputed over the message.
  static void fix_v2_checksum(std::vector<uint8_t>& datagram) {
    datagram[26] = datagram[27] = 0;
    auto sum = internet_checksum(std::span(datagram).subspan(20));
    datagram[26] = static_cast<uint8_t>(sum >> 8);
    datagram[27] = static_cast<uint8_t>(sum);
  }
};

TEST_F(VrrpPacketReject, TruncatedIpHeader) {
  std::vector<uint8_t> d(kKeepalivedV2Datagram.begin(), kKeepalivedV2Datagram.begin() + 19);
  EXPECT_EQ(reject_ipv4(d), RejectReason::kTruncated);
  EXPECT_EQ(counters[RejectReason::kTruncated], 1U);
}

TEST_F(VrrpPacketReject, TruncatedBelowIpTotalLength) {
  auto d = kKeepalivedV2Datagram;
  d.pop_back();
  EXPECT_EQ(reject_ipv4(d), RejectReason::kTruncated);
}

TEST_F(VrrpPacketReject, TruncatedVrrpHeader) {
  EXPECT_EQ(reject_v6({0x31, 0x35, 0xc8, 0x02, 0x00}), RejectReason::kTruncated);
}

TEST_F(VrrpPacketReject, NotIpv4) {
  auto d = kKeepalivedV2Datagram;
  d[0] = 0x65;
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadIpHeader);
}

TEST_F(VrrpPacketReject, IpHeaderLengthTooSmall) {
  auto d = kKeepalivedV2Datagram;
  d[0] = 0x44;
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadIpHeader);
}

TEST_F(VrrpPacketReject, NotProtocol112) {
  auto d = kKeepalivedV2Datagram;
  d[9] = 17;
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadIpHeader);
}

TEST_F(VrrpPacketReject, MixedAddressFamilies) {
  auto result =
      decode(IpFacts{.source = ip("192.0.2.1"), .destination = ip("ff02::12"), .ttl = 255},
             std::span(kKeepalivedV3Datagram).subspan(20), policies.lookup());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.reason(), RejectReason::kBadIpHeader);
  auto v6 =
      decode_ipv6(ip("192.0.2.1"), ip("ff02::12"), 255, kKeepalivedV6Payload, policies.lookup());
  ASSERT_FALSE(v6.ok());
  EXPECT_EQ(v6.reason(), RejectReason::kBadIpHeader);
}

TEST_F(VrrpPacketReject, TtlNot255) {
  auto d = kKeepalivedV2Datagram;
  d[8] = 254;
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadTtl);
  EXPECT_EQ(reject_v6(kKeepalivedV6Payload, 1), RejectReason::kBadTtl);
  EXPECT_EQ(counters[RejectReason::kBadTtl], 2U);
}

// Unicast mode, as keepalived 2.2.7 behaves (checked in the netns scenario unicast-source): the
// TTL-255 check is skipped for a unicast instance's adverts sent to it; check_unicast_src admits
// only the peers, within their min_ttl / max_ttl.
TEST(VrrpPacket, UnicastSenderChecks) {
  const IpAddress peer = ip("192.0.2.12");
  const IpAddress stranger = ip("192.0.2.100");
  const IpAddress us = ip("192.0.2.11");
  const IpAddress group = ip("224.0.0.18");
  struct Case {
    const char* name;
    bool unicast;
    bool check;
    uint8_t min_ttl;
    uint8_t max_ttl;
    IpAddress source;
    IpAddress destination;
    uint8_t ttl;
    std::optional<RejectReason> expected;  // nullopt: accepted
  };
  const Case cases[] = {
      {"multicast instance, TTL 64 to the group", false, false, 0, 255, peer, group, 64,
       RejectReason::kBadTtl},
      {"multicast instance, TTL 64 to us", false, false, 0, 255, peer, us, 64,
       RejectReason::kBadTtl},
      {"multicast instance, TTL 255 to us", false, false, 0, 255, stranger, us, 255, {}},
      {"unicast, anyone at any TTL", true, false, 0, 255, stranger, us, 1, {}},
      {"unicast, to the group still TTL 255", true, false, 0, 255, peer, group, 64,
       RejectReason::kBadTtl},
      {"check_unicast_src, a stranger", true, true, 0, 255, stranger, us, 255,
       RejectReason::kNotAUnicastPeer},
      {"check_unicast_src, the peer at TTL 64", true, true, 0, 255, peer, us, 64, {}},
      {"min_ttl 100, TTL 64", true, true, 100, 255, peer, us, 64, RejectReason::kBadTtl},
      {"max_ttl 200, TTL 255", true, true, 0, 200, peer, us, 255, RejectReason::kBadTtl},
      {"min_ttl = max_ttl = TTL", true, true, 64, 64, peer, us, 64, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Policies policies = keepalived_policies();
    auto& policy = policies.by_vrid[51];
    policy.unicast = c.unicast;
    policy.check_unicast_src = c.check;
    if (c.unicast)
      policy.unicast_peers = {{.address = peer, .min_ttl = c.min_ttl, .max_ttl = c.max_ttl}};
    // v2: the checksum leaves the addresses out, so any source and destination decode.
    auto result = decode(IpFacts{.source = c.source, .destination = c.destination, .ttl = c.ttl},
                         std::span(kKeepalivedV2Datagram).subspan(20), policies.lookup());
    if (c.expected) {
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.reason(), *c.expected);
    } else {
      EXPECT_TRUE(result.ok()) << to_string(result.reason());
    }
  }
}

TEST_F(VrrpPacketReject, UnknownVersion) {
  auto d = kKeepalivedV2Datagram;
  d[20] = 0x41;
  fix_v2_checksum(d);
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadVersion);
}

TEST_F(VrrpPacketReject, VersionOtherThanConfigured) {
  policies.by_vrid[52].version = 2;  // we run v2 for vrid 52, the packet is v3
  EXPECT_EQ(reject_ipv4(kKeepalivedV3Datagram), RejectReason::kBadVersion);
}

TEST_F(VrrpPacketReject, Version2OverIpv6) {
  auto p = kKeepalivedV6Payload;
  p[0] = 0x21;
  EXPECT_EQ(reject_v6(p), RejectReason::kBadVersion);
}

TEST_F(VrrpPacketReject, TypeNotAdvertisement) {
  auto d = kKeepalivedV2Datagram;
  d[20] = 0x22;
  fix_v2_checksum(d);
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadType);
}

TEST_F(VrrpPacketReject, UnknownVrid) {
  policies.by_vrid.erase(51);
  EXPECT_EQ(reject_ipv4(kKeepalivedV2Datagram), RejectReason::kUnknownVrid);
}

TEST_F(VrrpPacketReject, CountLargerThanPacket) {
  auto d = kKeepalivedV2Datagram;
  d[23] = 3;  // says 3 addresses, carries 2
  fix_v2_checksum(d);
  EXPECT_EQ(reject_ipv4(d), RejectReason::kAddressCountMismatch);
}

TEST_F(VrrpPacketReject, CountSmallerThanPacket) {
  auto p = kKeepalivedV6Payload;
  p[3] = 1;  // says 1 address, carries 2
  EXPECT_EQ(reject_v6(p), RejectReason::kAddressCountMismatch);
}

TEST_F(VrrpPacketReject, BadChecksum) {
  auto d = kKeepalivedV2Datagram;
  d[27] ^= 0x01;
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadChecksum);
}

TEST_F(VrrpPacketReject, V3ChecksumWithoutPseudoHeaderUnlessConfigured) {
  const Advert advert{.version = 3,
                      .vrid = 52,
                      .priority = 150,
                      .advert_interval = 500ms,
                      .addresses = {ip("192.0.2.110")}};
  auto payload = encode(
      advert,
      {.source = ip("192.0.2.1"), .destination = ip("224.0.0.18"), .v3_checksum_as_v2 = true});
  auto header = build_ipv4_header(ip("192.0.2.1"), ip("224.0.0.18"), payload.size());
  std::vector<uint8_t> d(header.begin(), header.end());
  d.insert(d.end(), payload.begin(), payload.end());
  EXPECT_EQ(reject_ipv4(d), RejectReason::kBadChecksum);

  policies.by_vrid[52].v3_checksum_as_v2 = true;
  EXPECT_TRUE(decode_ipv4(d, policies.lookup()).ok());
  // Configured peers still accept the RFC checksum.
  EXPECT_TRUE(decode_ipv4(kKeepalivedV3Datagram, policies.lookup()).ok());
}

TEST_F(VrrpPacketReject, V3ChecksumCoversPseudoHeaderDestination) {
  // The same bytes sent to a unicast peer: the pseudo-header differs, so the checksum fails.
  auto result =
      decode(IpFacts{.source = ip("192.0.2.1"), .destination = ip("192.0.2.2"), .ttl = 255},
             std::span(kKeepalivedV3Datagram).subspan(20), policies.lookup());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.reason(), RejectReason::kBadChecksum);
}

TEST_F(VrrpPacketReject, AuthTypeMismatch) {
  policies.by_vrid[51].auth_type = AuthType::kNone;
  EXPECT_EQ(reject_ipv4(kKeepalivedV2Datagram), RejectReason::kAuthTypeMismatch);
}

TEST_F(VrrpPacketReject, PasswordMismatch) {
  policies.by_vrid[51].auth_data = password_auth_data("Secret");
  EXPECT_EQ(reject_ipv4(kKeepalivedV2Datagram), RejectReason::kAuthMismatch);
}

TEST_F(VrrpPacketReject, V2AdvertIntervalMismatch) {
  policies.by_vrid[51].advert_interval = 2s;
  EXPECT_EQ(reject_ipv4(kKeepalivedV2Datagram), RejectReason::kAdvertIntervalMismatch);
}

TEST_F(VrrpPacketReject, V3IntervalIsAdoptedNotCompared) {
  policies.by_vrid[52].advert_interval = 2s;
  EXPECT_TRUE(decode_ipv4(kKeepalivedV3Datagram, policies.lookup()).ok());
}

TEST_F(VrrpPacketReject, V3ZeroInterval) {
  auto p = kKeepalivedV6Payload;
  p[4] = 0xf0;  // reserved bits set (ignored), interval 0
  p[5] = 0x00;
  // Fix the checksum for the edited field: the sum went down by 0x0064 and up by 0xf000.
  p[6] = p[7] = 0;
  auto sum = internet_checksum(p, pseudo_header_sum(kKeepalivedV6Source, ip("ff02::12"), p.size()));
  p[6] = static_cast<uint8_t>(sum >> 8);
  p[7] = static_cast<uint8_t>(sum);
  EXPECT_EQ(reject_v6(p), RejectReason::kZeroAdvertInterval);
}

TEST(VrrpPacket, ReservedBitsOfV3IntervalAreIgnored) {
  auto p = kKeepalivedV6Payload;
  p[4] |= 0xa0;
  p[6] = p[7] = 0;
  auto sum = internet_checksum(p, pseudo_header_sum(kKeepalivedV6Source, ip("ff02::12"), p.size()));
  p[6] = static_cast<uint8_t>(sum >> 8);
  p[7] = static_cast<uint8_t>(sum);
  auto policies = keepalived_policies();
  auto result = decode_ipv6(kKeepalivedV6Source, ip("ff02::12"), 255, p, policies.lookup());
  ASSERT_TRUE(result.ok()) << to_string(result.reason());
  EXPECT_EQ(result.advert().advert_interval, 1s);
}

TEST(VrrpPacket, IgnoresLinkPaddingPastIpTotalLength) {
  auto d = kKeepalivedV3Datagram;
  d.insert(d.end(), {0, 0, 0, 0});
  auto policies = keepalived_policies();
  EXPECT_TRUE(decode_ipv4(d, policies.lookup()).ok());
}

TEST(VrrpPacket, EveryReasonHasADistinctName) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    auto name = to_string(static_cast<RejectReason>(i));
    EXPECT_NE(name, "unknown");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kRejectReasonCount);
}

TEST(VrrpPacket, RejectCountersCountPerReason) {
  RejectCounters counters;
  counters.count(RejectReason::kBadTtl);
  counters.count(RejectReason::kBadTtl);
  counters.count(RejectReason::kUnknownVrid);
  EXPECT_EQ(counters[RejectReason::kBadTtl], 2U);
  EXPECT_EQ(counters[RejectReason::kUnknownVrid], 1U);
  EXPECT_EQ(counters[RejectReason::kBadChecksum], 0U);
  EXPECT_EQ(counters.total(), 3U);
}

// Every prefix of a valid datagram and every single-bit flip must decode without crashing and
// never be accepted with a different VRID than the lookup allows.
TEST(VrrpPacket, SurvivesTruncationsAndBitFlips) {
  auto policies = keepalived_policies();
  for (const auto* vector : {&kKeepalivedV2Datagram, &kKeepalivedV3Datagram}) {
    for (size_t n = 0; n < vector->size(); ++n) {
      std::vector<uint8_t> prefix(vector->begin(), vector->begin() + n);
      EXPECT_FALSE(decode_ipv4(prefix, policies.lookup()).ok()) << n;
    }
    for (size_t bit = 0; bit < vector->size() * 8; ++bit) {
      auto flipped = *vector;
      flipped[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
      auto result = decode_ipv4(flipped, policies.lookup());
      if (result.ok()) {
        EXPECT_TRUE(policies.by_vrid.contains(result.advert().vrid));
      }
    }
  }
}

}  // namespace
}  // namespace vigil::vrrp

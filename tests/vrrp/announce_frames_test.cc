// The gratuitous ARP and unsolicited neighbour advertisement frames, byte for byte. The NA's
// checksum is checked here by summing the pseudo-header and the message afresh, not with the
// codec's checksum functions that built it.
#include "vrrp/announce_frames.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vigil::vrrp {
namespace {

constexpr MacAddress kMac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}

std::vector<uint8_t> bytes_of(std::span<const uint8_t> frame) {
  return {frame.begin(), frame.end()};
}

TEST(AnnounceFrames, GratuitousArpBytes) {
  const std::vector<uint8_t> expected = {
      // Ethernet: broadcast, from the interface, ARP
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x06,
      // ARP: Ethernet, IPv4, lengths 6 and 4, request
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
      // sender MAC, sender IP 192.0.2.200
      0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0x00, 0x02, 0xc8,
      // target MAC broadcast, target IP 192.0.2.200
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0xc8};
  EXPECT_EQ(bytes_of(build_gratuitous_arp(kMac, ip("192.0.2.200"))), expected);
}

// MAC 52:54:00:12:34:56, VIP 2001:db8::100, Router clear.
const std::vector<uint8_t> kNeighbourAdvert = {
    // Ethernet: 33:33:00:00:00:01 (ff02::1), from the interface, IPv6
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x86, 0xdd,
    // IPv6: version 6, traffic class 0, flow label 0; payload 32; next header 58; hop limit 255
    0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
    // source 2001:db8::100
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    // destination ff02::1
    0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    // ICMPv6 type 136, code 0, checksum 0x7271; flags Override only, reserved
    0x88, 0x00, 0x72, 0x71, 0x20, 0x00, 0x00, 0x00,
    // target 2001:db8::100
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    // Target Link-Layer Address option: type 2, length 1 (8 bytes), the MAC
    0x02, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// The one's complement sum (folded, not complemented) of the RFC 8200 §8.1 pseudo-header and the
// ICMPv6 message of an Ethernet + IPv6 frame: 0xffff when the checksum in it is right.
uint16_t folded_sum_with_pseudo_header(const std::vector<uint8_t>& frame) {
  const size_t ip6 = 14;
  const size_t icmp = ip6 + 40;
  const size_t length = frame.size() - icmp;
  std::vector<uint8_t> summed;
  summed.insert(summed.end(), frame.begin() + ip6 + 8, frame.begin() + ip6 + 40);  // src, dst
  summed.insert(summed.end(),
                {static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(length >> 16),
                 static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)});
  summed.insert(summed.end(), {0, 0, 0, 58});  // three zero bytes, next header
  summed.insert(summed.end(), frame.begin() + icmp, frame.end());
  if (summed.size() % 2 != 0) summed.push_back(0);
  uint32_t sum = 0;
  for (size_t i = 0; i < summed.size(); i += 2)
    sum += static_cast<uint32_t>(summed[i] << 8 | summed[i + 1]);
  while (sum > 0xffff)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

TEST(AnnounceFrames, UnsolicitedNeighbourAdvertBytes) {
  const auto frame =
      bytes_of(build_unsolicited_neighbour_advert(kMac, ip("2001:db8::100"), /*router=*/false));
  EXPECT_EQ(frame, kNeighbourAdvert);
  EXPECT_EQ(folded_sum_with_pseudo_header(frame), 0xffff);
}

TEST(AnnounceFrames, IndependentChecksumCatchesAWrongOne) {
  // The checker above must be able to fail: one bit off in the checksum field.
  std::vector<uint8_t> broken = kNeighbourAdvert;
  broken[14 + 40 + 3] ^= 0x01;
  EXPECT_NE(folded_sum_with_pseudo_header(broken), 0xffff);
}

TEST(AnnounceFrames, RouterFlagWhenTheInterfaceForwards) {
  const auto frame =
      bytes_of(build_unsolicited_neighbour_advert(kMac, ip("2001:db8::100"), /*router=*/true));
  const size_t icmp = 14 + 40;
  EXPECT_EQ(frame[icmp + 4], 0xa0) << "Router and Override, never Solicited";
  EXPECT_EQ(frame[icmp + 2] << 8 | frame[icmp + 3], 0xf270) << "checksum";
  EXPECT_EQ(folded_sum_with_pseudo_header(frame), 0xffff);
  // Everything else is the same frame as without the flag.
  std::vector<uint8_t> rest = frame;
  rest[icmp + 2] = kNeighbourAdvert[icmp + 2];
  rest[icmp + 3] = kNeighbourAdvert[icmp + 3];
  rest[icmp + 4] = kNeighbourAdvert[icmp + 4];
  EXPECT_EQ(rest, kNeighbourAdvert);
}

TEST(AnnounceFrames, NeighbourAdvertChecksumHoldsForOtherAddresses) {
  // A VIP and MAC whose words carry across 16 bits many times over.
  const MacAddress mac = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xfe};
  for (const char* vip : {"fe80::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:1"}) {
    for (bool router : {false, true}) {
      const auto frame = bytes_of(build_unsolicited_neighbour_advert(mac, ip(vip), router));
      EXPECT_EQ(folded_sum_with_pseudo_header(frame), 0xffff) << vip << " router " << router;
    }
  }
}

}  // namespace
}  // namespace vigil::vrrp

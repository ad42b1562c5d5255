// The Ethernet frames that announce a virtual address after a takeover: a gratuitous ARP for an
// IPv4 VIP, an unsolicited neighbour advertisement for an IPv6 one. Pure functions over bytes;
// NetlinkVipManager sends the frames unchanged from an AF_PACKET socket, so nothing in them
// depends on the kernel (not even its choice of source address for the VIP).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/ip_address.h"

namespace vigil::vrrp {

using MacAddress = std::array<uint8_t, 6>;

inline constexpr size_t kEthernetHeaderSize = 14;
inline constexpr uint16_t kEthertypeArp = 0x0806;
inline constexpr uint16_t kEthertypeIpv6 = 0x86dd;
inline constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// RFC 2464 §7: ff02::1 maps to 33:33 followed by its last four bytes.
inline constexpr MacAddress kAllNodesMac = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

// Ethernet header + ARP for IPv4 over Ethernet (RFC 826).
inline constexpr size_t kGratuitousArpFrameSize = kEthernetHeaderSize + 28;
// Ethernet header + IPv6 header (RFC 8200 §3) + Neighbor Advertisement (RFC 4861 §4.4, 24
// bytes) + one Target Link-Layer Address option (§4.6.1, 8 bytes).
inline constexpr size_t kNeighbourAdvertFrameSize = kEthernetHeaderSize + 40 + 24 + 8;

using GratuitousArpFrame = std::array<uint8_t, kGratuitousArpFrameSize>;
using NeighbourAdvertFrame = std::array<uint8_t, kNeighbourAdvertFrameSize>;

// RFC 5227 §3 "ARP Announcement" for the IPv4 address `vip`, from `mac` to the broadcast address:
// an ARP request whose sender and target protocol addresses are both the VIP, target hardware
// address broadcast (what keepalived 2.2 sends). Asserts that `vip` is IPv4.
GratuitousArpFrame build_gratuitous_arp(const MacAddress& mac, const IpAddress& vip);

// RFC 4861 §7.2.6 unsolicited Neighbor Advertisement for the IPv6 address `vip`, from `mac` and
// the VIP to ff02::1 (all nodes) with hop limit 255 (§7.1.2): Override set, Solicited clear,
// Router as `router` says (§4.4), target the VIP, Target Link-Layer Address option `mac`, the
// ICMPv6 checksum over the RFC 8200 §8.1 pseudo-header filled in. Asserts that `vip` is IPv6.
NeighbourAdvertFrame build_unsolicited_neighbour_advert(const MacAddress& mac, const IpAddress& vip,
                                                        bool router);

}  // namespace vigil::vrrp

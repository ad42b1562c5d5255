#include "vrrp/announce_frames.h"

#include <cassert>
#include <cstring>
#include <span>

#include "vrrp/packet.h"

namespace vigil::vrrp {
namespace {

constexpr uint16_t kArpHardwareEthernet = 1;  // RFC 826 ar$hrd
constexpr uint16_t kEthertypeIpv4 = 0x0800;   // RFC 826 ar$pro
constexpr uint16_t kArpRequest = 1;           // RFC 826 ar$op

constexpr uint8_t kIpProtocolIcmpv6 = 58;
constexpr uint8_t kNeighborAdvertisementType = 136;  // RFC 4861 §4.4
constexpr uint8_t kNdHopLimit = 255;                 // RFC 4861 §7.1.2
constexpr uint8_t kFlagRouter = 0x80;                // RFC 4861 §4.4: R, S, O, then reserved
constexpr uint8_t kFlagOverride = 0x20;
constexpr uint8_t kOptionTargetLinkLayerAddress = 2;  // RFC 4861 §4.6.1
constexpr size_t kIpv6HeaderSize = 40;
constexpr size_t kIcmpv6MessageSize = 24 + 8;  // Neighbor Advertisement + one option

// ff02::1, the all-nodes multicast address (RFC 4291 §2.7.1).
constexpr std::array<uint8_t, 16> kAllNodes = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                               0,    0,    0, 0, 0, 0, 0, 1};

void put_ethernet_header(uint8_t* out, const MacAddress& destination, const MacAddress& source,
                         uint16_t ethertype) {
  std::memcpy(out, destination.data(), 6);
  std::memcpy(out + 6, source.data(), 6);
  write16(out + 12, ethertype);
}

}  // namespace

GratuitousArpFrame build_gratuitous_arp(const MacAddress& mac, const IpAddress& vip) {
  assert(vip.is_v4());
  GratuitousArpFrame frame{};
  put_ethernet_header(frame.data(), kBroadcastMac, mac, kEthertypeArp);
  uint8_t* arp = frame.data() + kEthernetHeaderSize;
  write16(arp, kArpHardwareEthernet);
  write16(arp + 2, kEthertypeIpv4);
  arp[4] = 6;  // hardware address length
  arp[5] = 4;  // protocol address length
  write16(arp + 6, kArpRequest);
  std::memcpy(arp + 8, mac.data(), 6);             // sender hardware address
  std::memcpy(arp + 14, vip.bytes(), 4);           // sender protocol address
  std::memcpy(arp + 18, kBroadcastMac.data(), 6);  // target hardware address
  std::memcpy(arp + 24, vip.bytes(), 4);           // target protocol address
  return frame;
}

NeighbourAdvertFrame build_unsolicited_neighbour_advert(const MacAddress& mac, const IpAddress& vip,
                                                        bool router) {
  assert(vip.is_v6());
  NeighbourAdvertFrame frame{};
  put_ethernet_header(frame.data(), kAllNodesMac, mac, kEthertypeIpv6);

  // RFC 8200 §3: version 6, traffic class 0, flow label 0.
  uint8_t* ip6 = frame.data() + kEthernetHeaderSize;
  ip6[0] = 6 << 4;
  write16(ip6 + 4, kIcmpv6MessageSize);  // payload length
  ip6[6] = kIpProtocolIcmpv6;            // next header
  ip6[7] = kNdHopLimit;
  std::memcpy(ip6 + 8, vip.bytes(), 16);  // source: the VIP itself, as keepalived sends it
  std::memcpy(ip6 + 24, kAllNodes.data(), 16);

  // RFC 4861 §4.4 Neighbor Advertisement; §7.2.6: unsolicited, so Solicited is clear, and
  // Override is set to update the link-layer address neighbours cached for the VIP.
  uint8_t* icmp = ip6 + kIpv6HeaderSize;
  icmp[0] = kNeighborAdvertisementType;
  icmp[1] = 0;  // code
  icmp[4] = kFlagOverride | (router ? kFlagRouter : 0);
  std::memcpy(icmp + 8, vip.bytes(), 16);  // target address
  // RFC 4861 §4.6.1 Target Link-Layer Address option: type, length in units of 8 bytes, MAC.
  uint8_t* option = icmp + 24;
  option[0] = kOptionTargetLinkLayerAddress;
  option[1] = 1;
  std::memcpy(option + 2, mac.data(), 6);

  // RFC 4443 §2.3: the ICMPv6 checksum covers the RFC 8200 §8.1 pseudo-header and the message,
  // with the checksum field zero while it is computed.
  const IpAddress all_nodes = IpAddress::from_bytes(AddressFamily::kIpv6, kAllNodes.data());
  const std::span<const uint8_t> message(icmp, kIcmpv6MessageSize);
  write16(icmp + 2, internet_checksum(message, pseudo_header_sum(vip, all_nodes, message.size(),
                                                                 kIpProtocolIcmpv6)));
  return frame;
}

}  // namespace vigil::vrrp

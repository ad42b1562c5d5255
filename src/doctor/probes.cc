// The pure parts of the doctor's active probes (probes.h): the plan, the ARP frame, the parsers.
#include "doctor/probes.h"

#include <fmt/format.h>

#include <algorithm>

namespace vigil::doctor {

namespace {

constexpr uint16_t kEthertypeArp = 0x0806;
constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kArpHardwareEthernet = 1;
constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr uint8_t kIpProtocolVrrp = 112;
constexpr Duration kListenMargin = std::chrono::milliseconds(500);

uint16_t read16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void put16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value & 0xff);
}

bool probed_by_arp(const config::RealServer& rs) {
  return rs.address.is_v4() && (rs.forwarding.method == config::ForwardingMethod::kDirectRouting ||
                                rs.forwarding.method == config::ForwardingMethod::kTunnel);
}

bool is_ipv4_address_service(const config::VirtualServer& vs) {
  return vs.kind == config::VirtualServerKind::kAddress && vs.address.is_v4();
}

}  // namespace

std::string to_string(const Mac& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

std::set<IpAddress> route_targets(const config::Config& config) {
  std::set<IpAddress> out;
  for (const auto& vs : config.lvs.virtual_servers) {
    if (!is_ipv4_address_service(vs)) continue;
    for (const auto& rs : vs.real_servers) {
      if (probed_by_arp(rs)) out.insert(rs.address);
    }
  }
  return out;
}

ProbePlan probe_plan(const config::Config& config, const std::map<IpAddress, Route>& routes) {
  ProbePlan plan;
  for (const auto& vs : config.lvs.virtual_servers) {
    if (!is_ipv4_address_service(vs)) continue;
    for (const auto& rs : vs.real_servers) {
      if (!probed_by_arp(rs)) continue;
      auto route = routes.find(rs.address);
      if (route == routes.end() || route->second.local || route->second.interface.empty()) continue;
      auto& targets = plan.arp[route->second.interface].targets;
      if (route->second.gateway) {
        // Behind a router: its next hop is what answers ARP here, and a who-has for the VIP on
        // this link never reaches the real server.
        targets.insert(*route->second.gateway);
      } else {
        targets.insert(rs.address);
        targets.insert(vs.address);
      }
    }
  }
  for (const auto& instance : config.vrrp.instances) {
    if (instance.interface.empty() || instance.virtual_router_id == 0) continue;
    // Who answers for the IPv4 VIPs (vrrp.vip_on_peer): at most the MASTER may.
    for (const auto& vip : instance.virtual_addresses) {
      if (vip.prefix.address.is_v4())
        plan.arp[vip.dev.empty() ? instance.interface : vip.dev].targets.insert(vip.prefix.address);
    }
    auto& listen = plan.vrrp[instance.interface];
    (instance.family == AddressFamily::kIpv6 ? listen.ipv6 : listen.ipv4) = true;
    const Duration want = kListenAdvertIntervals * instance.advert_int + kListenMargin;
    listen.duration = std::max(listen.duration, std::min(want, kMaxVrrpListen));
  }
  return plan;
}

std::array<uint8_t, kArpFrameSize> build_arp_probe(const Mac& own, const IpAddress& target) {
  std::array<uint8_t, kArpFrameSize> frame{};
  uint8_t* p = frame.data();
  std::fill(p, p + 6, 0xff);  // Ethernet destination: broadcast
  std::copy(own.begin(), own.end(), p + 6);
  put16(p + 12, kEthertypeArp);
  uint8_t* arp = p + 14;
  put16(arp, kArpHardwareEthernet);
  put16(arp + 2, kEthertypeIpv4);
  arp[4] = 6;  // hardware address length
  arp[5] = 4;  // protocol address length
  put16(arp + 6, kArpRequest);
  std::copy(own.begin(), own.end(), arp + 8);  // sender hardware address
  // arp + 14: sender protocol address 0.0.0.0 (an ARP Probe); arp + 18: target hardware zero.
  std::copy(target.bytes(), target.bytes() + 4, arp + 24);
  return frame;
}

std::optional<ArpReply> parse_arp_reply(std::span<const uint8_t> frame) {
  if (frame.size() < kArpFrameSize) return std::nullopt;
  const uint8_t* p = frame.data();
  if (read16(p + 12) != kEthertypeArp) return std::nullopt;
  const uint8_t* arp = p + 14;
  if (read16(arp) != kArpHardwareEthernet || read16(arp + 2) != kEthertypeIpv4 || arp[4] != 6 ||
      arp[5] != 4 || read16(arp + 6) != kArpReply)
    return std::nullopt;
  ArpReply reply;
  std::copy(arp + 8, arp + 14, reply.sender.begin());
  reply.address = IpAddress::from_bytes(AddressFamily::kIpv4, arp + 14);
  return reply;
}

std::optional<HeardAdvert> parse_vrrp_message(const IpAddress& source,
                                              std::span<const uint8_t> message) {
  // RFC 3768 §5.1 / RFC 5798 §5.2: version and type, VRID, priority, address count, then v2:
  // auth type, advert interval (s), checksum, addresses, 8 bytes of authentication data;
  // v3: 4 reserved bits and a 12-bit max advert interval (cs), checksum, addresses.
  if (message.size() < 8) return std::nullopt;
  const uint8_t* p = message.data();
  HeardAdvert advert;
  advert.source = source;
  advert.version = p[0] >> 4;
  if ((p[0] & 0x0f) != 1 || (advert.version != 2 && advert.version != 3)) return std::nullopt;
  advert.vrid = p[1];
  advert.priority = p[2];
  const size_t count = p[3];
  const size_t size = source.size();
  if (advert.version == 2) {
    advert.auth_type = p[4];
    advert.interval = std::chrono::seconds(p[5]);
  } else {
    advert.interval = std::chrono::milliseconds(10 * (read16(p + 4) & 0x0fff));
  }
  if (message.size() < 8 + count * size) return std::nullopt;
  for (size_t i = 0; i < count; ++i)
    advert.addresses.insert(IpAddress::from_bytes(source.family(), p + 8 + i * size));
  const size_t auth_at = 8 + count * size;
  if (advert.version == 2 && message.size() >= auth_at + advert.auth_data.size())
    std::copy(p + auth_at, p + auth_at + advert.auth_data.size(), advert.auth_data.begin());
  return advert;
}

std::optional<HeardAdvert> parse_vrrp_ipv4(std::span<const uint8_t> datagram) {
  if (datagram.size() < 20) return std::nullopt;
  const uint8_t* p = datagram.data();
  const size_t header = static_cast<size_t>(p[0] & 0x0f) * 4;
  if ((p[0] >> 4) != 4 || header < 20 || datagram.size() < header || p[9] != kIpProtocolVrrp)
    return std::nullopt;
  const size_t total = std::min<size_t>(read16(p + 2), datagram.size());
  if (total < header) return std::nullopt;
  return parse_vrrp_message(IpAddress::from_bytes(AddressFamily::kIpv4, p + 12),
                            datagram.subspan(header, total - header));
}

}  // namespace vigil::doctor

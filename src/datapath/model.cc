#include "datapath/model.h"

#include <array>
#include <cstdint>

namespace vigil::datapath {
namespace {

// Values from include/uapi/linux/ip_vs.h; kept here so the model needs no kernel headers.
constexpr uint32_t kSvcPersistent = 0x0001;
constexpr uint32_t kSvcOnePacket = 0x0004;
constexpr uint32_t kSvcSched1 = 0x0008;
constexpr uint32_t kSvcSched2 = 0x0010;
constexpr uint32_t kSvcSched3 = 0x0020;
constexpr uint16_t kTunnelCsum = 1U << 0;
constexpr uint16_t kTunnelRemcsum = 1U << 1;

std::string address_port(const IpAddress& address, uint16_t port) {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

}  // namespace

ServiceKey ServiceKey::firewall_mark(uint32_t mark, AddressFamily family) {
  static const uint8_t kZeros[16] = {};
  return {Protocol::kTcp, IpAddress::from_bytes(family, kZeros), 0, mark};
}

std::strong_ordering ServiceKey::operator<=>(const ServiceKey& other) const {
  if (auto c = is_fwmark() <=> other.is_fwmark(); c != 0) return c;
  if (auto c = family() <=> other.family(); c != 0) return c;
  if (is_fwmark()) return fwmark <=> other.fwmark;
  if (auto c = protocol <=> other.protocol; c != 0) return c;
  if (auto c = address <=> other.address; c != 0) return c;
  return port <=> other.port;
}

uint32_t ServiceFlags::to_bits() const {
  return (persistent ? kSvcPersistent : 0) | (one_packet ? kSvcOnePacket : 0) |
         (sched_flag_1 ? kSvcSched1 : 0) | (sched_flag_2 ? kSvcSched2 : 0) |
         (sched_flag_3 ? kSvcSched3 : 0);
}

ServiceFlags ServiceFlags::from_bits(uint32_t bits) {
  return {.persistent = (bits & kSvcPersistent) != 0,
          .one_packet = (bits & kSvcOnePacket) != 0,
          .sched_flag_1 = (bits & kSvcSched1) != 0,
          .sched_flag_2 = (bits & kSvcSched2) != 0,
          .sched_flag_3 = (bits & kSvcSched3) != 0};
}

uint16_t TunnelFlags::to_bits() const {
  return static_cast<uint16_t>((checksum ? kTunnelCsum : 0) |
                               (remote_checksum ? kTunnelRemcsum : 0));
}

TunnelFlags TunnelFlags::from_bits(uint16_t bits) {
  return {.checksum = (bits & kTunnelCsum) != 0, .remote_checksum = (bits & kTunnelRemcsum) != 0};
}

std::optional<SchedulerFlag> scheduler_flag_by_name(std::string_view scheduler,
                                                    std::string_view name) {
  if (name == "flag-1") return SchedulerFlag::kFlag1;
  if (name == "flag-2") return SchedulerFlag::kFlag2;
  if (name == "flag-3") return SchedulerFlag::kFlag3;
  if (scheduler == "sh" && name == "sh-fallback") return SchedulerFlag::kFlag1;
  if (scheduler == "sh" && name == "sh-port") return SchedulerFlag::kFlag2;
  if (scheduler == "mh" && name == "mh-fallback") return SchedulerFlag::kFlag1;
  if (scheduler == "mh" && name == "mh-port") return SchedulerFlag::kFlag2;
  return std::nullopt;
}

std::string scheduler_flag_names(std::string_view scheduler, const ServiceFlags& flags) {
  const bool hashing = scheduler == "sh" || scheduler == "mh";
  const std::string prefix(scheduler);
  const std::array<std::pair<bool, std::string>, 3> named = {{
      {flags.sched_flag_1, hashing ? prefix + "-fallback" : "flag-1"},
      {flags.sched_flag_2, hashing ? prefix + "-port" : "flag-2"},
      {flags.sched_flag_3, "flag-3"},
  }};
  std::string names;
  for (const auto& [set, name] : named) {
    if (!set) continue;
    if (!names.empty()) names += ',';
    names += name;
  }
  return names;
}

std::string KernelInfo::version_string() const {
  return std::to_string((version >> 16) & 0xff) + "." + std::to_string((version >> 8) & 0xff) +
         "." + std::to_string(version & 0xff);
}

std::string to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "proto-" + std::to_string(static_cast<unsigned>(protocol));
}

std::string to_string(ForwardingMethod method) {
  switch (method) {
    case ForwardingMethod::kNat:
      return "masq";
    case ForwardingMethod::kLocalNode:
      return "local";
    case ForwardingMethod::kTunnel:
      return "tunnel";
    case ForwardingMethod::kDirectRoute:
      return "route";
    case ForwardingMethod::kBypass:
      return "bypass";
  }
  return "method-" + std::to_string(static_cast<unsigned>(method));
}

std::string to_string(TunnelType type) {
  switch (type) {
    case TunnelType::kIpip:
      return "ipip";
    case TunnelType::kGue:
      return "gue";
    case TunnelType::kGre:
      return "gre";
  }
  return "tunnel-" + std::to_string(static_cast<unsigned>(type));
}

std::string to_string(SyncDaemonState state) {
  return state == SyncDaemonState::kMaster ? "master" : "backup";
}

std::string to_string(const ServiceKey& key) {
  if (key.is_fwmark()) {
    return "FWM " + std::to_string(key.fwmark) +
           (key.family() == AddressFamily::kIpv6 ? " IPv6" : "");
  }
  return to_string(key.protocol) + " " + address_port(key.address, key.port);
}

std::string to_string(const DestinationKey& key) {
  return address_port(key.address, key.port);
}

std::string to_string(const Service& service) {
  std::string text = "sched " + service.scheduler;
  if (auto names = scheduler_flag_names(service.scheduler, service.flags); !names.empty()) {
    text += " flags " + names;
  }
  if (service.flags.one_packet) text += " ops";
  if (service.flags.persistent) {
    text += " persistent " + std::to_string(service.persistence_timeout.count()) + "s";
  } else if (service.persistence_timeout.count() != 0) {
    text += " timeout " + std::to_string(service.persistence_timeout.count()) + "s";
  }
  // The granularity matters only for persistence; otherwise show it only when unusual.
  if (service.flags.persistent || (service.netmask_prefix != 32 && service.netmask_prefix != 128)) {
    text += " netmask /" + std::to_string(service.netmask_prefix);
  }
  if (!service.persistence_engine.empty()) text += " pe " + service.persistence_engine;
  return text;
}

std::string to_string(const Destination& destination) {
  std::string text =
      to_string(destination.method) + " weight " + std::to_string(destination.weight);
  if (destination.upper_threshold != 0 || destination.lower_threshold != 0) {
    text += " thresholds " + std::to_string(destination.lower_threshold) + "-" +
            std::to_string(destination.upper_threshold);
  }
  if (destination.method == ForwardingMethod::kTunnel) {
    text += " " + to_string(destination.tunnel_type);
    if (destination.tunnel_port != 0) text += ":" + std::to_string(destination.tunnel_port);
    if (destination.tunnel_flags.checksum) text += " csum";
    if (destination.tunnel_flags.remote_checksum) text += " remcsum";
  }
  return text;
}

Table without_counters(const Table& table) {
  Table copy;
  for (const auto& [key, entry] : table) {
    ServiceEntry& copied = copy.emplace_hint(copy.end(), key, ServiceEntry{})->second;
    copied.service = entry.service;
    copied.destinations = entry.destinations;
  }
  return copy;
}

}  // namespace vigil::datapath

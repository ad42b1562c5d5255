// Value types mirroring what the kernel's IPVS tables hold (include/uapi/linux/ip_vs.h).
// Attributes that vigil sets are kept apart from the counters the kernel reports, so that
// equality of two tables compares only what vigil programs.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/ip_address.h"

namespace vigil::datapath {

// IPPROTO_* values, as IPVS_SVC_ATTR_PROTOCOL carries them.
enum class Protocol : uint16_t { kTcp = 6, kUdp = 17, kSctp = 132 };

// Identifies a virtual service: {protocol, address, port}, or {fwmark, family} for a
// firewall-mark service. For fwmark services protocol, address bytes and port are ignored by
// comparisons; only the address family counts.
struct ServiceKey {
  Protocol protocol = Protocol::kTcp;
  IpAddress address;  // for fwmark services only its family matters
  uint16_t port = 0;
  uint32_t fwmark = 0;  // non-zero: a firewall-mark service

  static ServiceKey tcp(const IpAddress& address, uint16_t port) {
    return {Protocol::kTcp, address, port};
  }
  static ServiceKey udp(const IpAddress& address, uint16_t port) {
    return {Protocol::kUdp, address, port};
  }
  static ServiceKey sctp(const IpAddress& address, uint16_t port) {
    return {Protocol::kSctp, address, port};
  }
  static ServiceKey firewall_mark(uint32_t mark, AddressFamily family);

  [[nodiscard]] bool is_fwmark() const { return fwmark != 0; }
  [[nodiscard]] AddressFamily family() const { return address.family(); }

  // Orders address services before fwmark services, then by family, protocol, address, port.
  std::strong_ordering operator<=>(const ServiceKey& other) const;
  bool operator==(const ServiceKey& other) const { return (*this <=> other) == 0; }
};

// Scheduler flag bits (IP_VS_SVC_F_SCHED1..3); their meaning depends on the scheduler.
enum class SchedulerFlag : uint8_t { kFlag1 = 1, kFlag2 = 2, kFlag3 = 3 };

// Service flags vigil sets (IP_VS_SVC_F_*). The kernel's HASHED bit is internal and is not
// part of the model: the adapter masks it out of dumps.
struct ServiceFlags {
  bool persistent = false;    // IP_VS_SVC_F_PERSISTENT
  bool one_packet = false;    // IP_VS_SVC_F_ONEPACKET (keepalived's "ops", UDP only)
  bool sched_flag_1 = false;  // sh-fallback for sh, mh-fallback for mh
  bool sched_flag_2 = false;  // sh-port for sh, mh-port for mh
  bool sched_flag_3 = false;

  [[nodiscard]] uint32_t to_bits() const;
  static ServiceFlags from_bits(uint32_t bits);
  bool operator==(const ServiceFlags&) const = default;
};

// What SET_SERVICE can change on an existing service.
struct Service {
  std::string scheduler = "wlc";  // ip_vs_<name> kernel module; ipvsadm's default
  ServiceFlags flags;
  std::chrono::seconds persistence_timeout{0};  // IPVS_SVC_ATTR_TIMEOUT
  // Persistence granularity as a prefix length: /32 (or /128) is one client address. The
  // kernel stores an IPv4 netmask and an IPv6 prefix length; the adapter converts, and reports a
  // non-contiguous IPv4 mask (set by hand) as kNonContiguousNetmask so it is repaired.
  uint8_t netmask_prefix = 32;
  std::string persistence_engine;  // IPVS_SVC_ATTR_PE_NAME ("sip"), empty for none

  bool operator==(const Service&) const = default;
};

inline constexpr uint8_t kNonContiguousNetmask = 0xff;

// Host-length prefix for a family: the netmask_prefix ipvsadm uses when none is given.
constexpr uint8_t host_prefix(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? 32 : 128;
}

// ipvsadm's --sched-flags names: "sh-fallback"/"sh-port" for sh, "mh-fallback"/"mh-port" for
// mh, "flag-1".."flag-3" for any scheduler. Returns the bit a name sets, or nothing when the
// name means nothing for this scheduler.
std::optional<SchedulerFlag> scheduler_flag_by_name(std::string_view scheduler,
                                                    std::string_view name);
// Comma-separated names of the scheduler flags set in `flags`, as ipvsadm prints them.
std::string scheduler_flag_names(std::string_view scheduler, const ServiceFlags& flags);

// A real server inside a service. Its family may differ from the service's (only with TUN).
struct DestinationKey {
  IpAddress address;
  uint16_t port = 0;
  auto operator<=>(const DestinationKey&) const = default;
};

// IP_VS_CONN_F_* forwarding methods, with the kernel's values.
enum class ForwardingMethod : uint8_t {
  kNat = 0,          // IP_VS_CONN_F_MASQ
  kLocalNode = 1,    // IP_VS_CONN_F_LOCALNODE
  kTunnel = 2,       // IP_VS_CONN_F_TUNNEL
  kDirectRoute = 3,  // IP_VS_CONN_F_DROUTE
  kBypass = 4,       // IP_VS_CONN_F_BYPASS
};

// IP_VS_CONN_F_TUNNEL_TYPE_*.
enum class TunnelType : uint8_t { kIpip = 0, kGue = 1, kGre = 2 };

// IP_VS_TUNNEL_ENCAP_FLAG_*.
struct TunnelFlags {
  bool checksum = false;         // IP_VS_TUNNEL_ENCAP_FLAG_CSUM
  bool remote_checksum = false;  // IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM

  [[nodiscard]] uint16_t to_bits() const;
  static TunnelFlags from_bits(uint16_t bits);
  bool operator==(const TunnelFlags&) const = default;
};

// What SET_DEST can change on an existing destination.
struct Destination {
  ForwardingMethod method = ForwardingMethod::kNat;
  int32_t weight = 1;            // 0 quiesces: no new connections, existing ones continue
  uint32_t upper_threshold = 0;  // 0: no limit
  uint32_t lower_threshold = 0;
  TunnelType tunnel_type = TunnelType::kIpip;  // the tunnel fields matter only with kTunnel
  uint16_t tunnel_port = 0;                    // GUE destination port
  TunnelFlags tunnel_flags;

  bool operator==(const Destination&) const = default;
};

// Counters and rates (IPVS_STATS_ATTR_*, from the 64-bit STATS64 nest). Read only.
struct Stats {
  uint64_t connections = 0;
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t connections_per_second = 0;
  uint64_t packets_in_per_second = 0;
  uint64_t packets_out_per_second = 0;
  uint64_t bytes_in_per_second = 0;
  uint64_t bytes_out_per_second = 0;
  bool operator==(const Stats&) const = default;
};

struct DestinationStats {
  Stats traffic;
  uint32_t active_connections = 0;
  uint32_t inactive_connections = 0;
  uint32_t persistent_connections = 0;
  bool operator==(const DestinationStats&) const = default;
};

// One virtual service with its destinations. Equality compares what vigil sets (the service
// attributes and the destinations), never the kernel's counters.
struct ServiceEntry {
  Service service;
  std::map<DestinationKey, Destination> destinations;
  Stats stats;                                                   // read only
  std::map<DestinationKey, DestinationStats> destination_stats;  // read only, filled by dump()

  friend bool operator==(const ServiceEntry& a, const ServiceEntry& b) {
    return a.service == b.service && a.destinations == b.destinations;
  }
};

using Table = std::map<ServiceKey, ServiceEntry>;

// A copy of `table` with what vigil sets and none of the kernel's counters (`stats` zero,
// `destination_stats` empty): the table vigil plans against needs no counters, and a
// destination's counters weigh more than the destination itself.
Table without_counters(const Table& table);

// IP_VS_STATE_MASTER / IP_VS_STATE_BACKUP.
enum class SyncDaemonState : uint8_t { kMaster = 1, kBackup = 2 };

// The connection-sync daemon (keepalived's lvs_sync_daemon). The defaults are the kernel's;
// dumps report the values the kernel actually uses.
struct SyncDaemonConfig {
  SyncDaemonState state = SyncDaemonState::kMaster;
  std::string interface;           // IPVS_DAEMON_ATTR_MCAST_IFN
  uint8_t sync_id = 0;             // IPVS_DAEMON_ATTR_SYNC_ID
  uint16_t max_length = 0;         // SYNC_MAXLEN: UDP payload size, 0 = from the MTU
  std::optional<IpAddress> group;  // MCAST_GROUP(6); unset = 224.0.0.81
  uint16_t port = 8848;            // MCAST_PORT
  uint8_t ttl = 1;                 // MCAST_TTL
  bool operator==(const SyncDaemonConfig&) const = default;
};

// keepalived's lvs_timeouts (IPVS_CMD_SET_CONFIG). Zero leaves a value unchanged on set.
struct Timeouts {
  std::chrono::seconds tcp{0};
  std::chrono::seconds tcp_fin{0};
  std::chrono::seconds udp{0};
  bool operator==(const Timeouts&) const = default;
};

// GET_INFO.
struct KernelInfo {
  uint32_t version = 0;  // 0x010201 is 1.2.1
  uint32_t connection_table_size = 0;
  [[nodiscard]] std::string version_string() const;
};

std::string to_string(Protocol protocol);
std::string to_string(ForwardingMethod method);  // masq, route, tunnel, local, bypass
std::string to_string(TunnelType type);
std::string to_string(SyncDaemonState state);
// "TCP 10.0.0.1:80", "UDP [2001:db8::1]:53", "FWM 1", "FWM 1 IPv6".
std::string to_string(const ServiceKey& key);
// "10.0.0.2:80", "[2001:db8::2]:80".
std::string to_string(const DestinationKey& key);
// "sched rr flags sh-port persistent 300s netmask /24 pe sip" (only what is set).
std::string to_string(const Service& service);
// "masq weight 1 thresholds 0-100 tun gue:6080 csum" (only what is set).
std::string to_string(const Destination& destination);

}  // namespace vigil::datapath

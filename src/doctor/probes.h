// vigilctl doctor's active probes: what the doctor asks the network, and the pure parts of asking.
// - ARP (RFC 826) who-has for each IPv4 DR/TUN VIP on the link that reaches its real servers,
//   and for each real server's own address (or the gateway it is reached by): a real server that
//   answers for the VIP has no ARP suppression (the LVS guides' first failure); one that does not
//   answer for itself is unreachable. The requests are RFC 5227 §2.1.1 ARP Probes (sender
//   protocol address 0.0.0.0), so no host on the link learns or changes a neighbour entry.
// - VRRP: a raw IPPROTO_VRRP socket per interface listens (a copy of every advert, whether or
//   not vigild runs here) for at least three advert intervals; adverts carrying one of our
//   VRIDs from another router are judged in probe_rules.cc.
// The plan (probe_plan) is a pure function of the configuration and the gathered routes; the
// parsers and the frame builder are pure; linux_probes.cc sends and listens.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "config/model.h"

namespace vigil::doctor {

using Mac = std::array<uint8_t, 6>;
std::string to_string(const Mac& mac);  // "02:00:00:00:00:01"

// The route to an address, as the kernel would use it (RTM_GETROUTE).
struct Route {
  std::string interface;             // the output device
  std::optional<IpAddress> gateway;  // unset: on-link
  bool local = false;                // the address is this host's own
  bool operator==(const Route&) const = default;
};

// One interface's ARP probing.
struct ArpPlan {
  std::set<IpAddress> targets;  // IPv4 addresses to ask who-has for
};

// One interface's VRRP listening.
struct VrrpListenPlan {
  bool ipv4 = false;
  bool ipv6 = false;
  Duration duration{0};
};

struct ProbePlan {
  std::map<std::string, ArpPlan> arp;  // by interface
  std::map<std::string, VrrpListenPlan> vrrp;
  int arp_rounds = 3;                            // who-has sent this many times, one per
  Duration arp_round = std::chrono::seconds(1);  // round, replies collected throughout
  bool empty() const { return arp.empty() && vrrp.empty(); }
};

// What came back on one interface.
struct ArpAnswers {
  std::optional<Mac> own;                      // the interface's MAC
  std::map<IpAddress, std::set<Mac>> replies;  // target -> every MAC that answered for it
  std::string error;                           // why the interface could not be probed
};

// One VRRP advert as heard (RFC 3768 §5.1, RFC 5798 §5.2): the fields the rules compare.
struct HeardAdvert {
  IpAddress source;
  uint8_t version = 0;
  uint8_t vrid = 0;
  uint8_t priority = 0;
  uint8_t auth_type = 0;               // v2 only
  std::array<uint8_t, 8> auth_data{};  // v2 only
  Duration interval{0};                // v2: seconds; v3: centiseconds
  std::set<IpAddress> addresses;
  bool operator==(const HeardAdvert&) const = default;
};

struct VrrpHeard {
  Duration listened{0};
  std::vector<HeardAdvert> adverts;  // the last one per (source, vrid)
  std::string error;                 // why it could not listen
};

struct ProbeResults {
  std::map<std::string, ArpAnswers> arp;
  std::map<std::string, VrrpHeard> vrrp;
  int arp_rounds = 0;     // as planned: how often each who-has was sent,
  Duration arp_round{0};  // and how long replies were collected after each
};

// Limits of the VRRP listening: three advert intervals and a half-second margin, at most
// kMaxVrrpListen (an instance with advert_int 5 is heard for 10 s, not 15.5).
inline constexpr Duration kMaxVrrpListen = std::chrono::seconds(10);
inline constexpr int kListenAdvertIntervals = 3;

// The IPv4 DR/TUN real servers the ARP probes concern (of services with an address: a fwmark or
// virtual_server_group service has no single VIP to ask for): the routes to find.
std::set<IpAddress> route_targets(const config::Config& config);

// Which interface to ARP on for what, and where to listen for adverts, given the routes found.
ProbePlan probe_plan(const config::Config& config, const std::map<IpAddress, Route>& routes);

// An RFC 5227 §2.1.1 ARP Probe for `target` from `own`: Ethernet broadcast, op request, sender
// hardware address `own`, sender protocol address 0.0.0.0, target hardware address zero.
inline constexpr size_t kArpFrameSize = 14 + 28;
std::array<uint8_t, kArpFrameSize> build_arp_probe(const Mac& own, const IpAddress& target);

struct ArpReply {
  Mac sender;
  IpAddress address;  // the sender protocol address: what it answers for
};
// An Ethernet frame carrying an ARP reply (op 2, IPv4 over Ethernet), else nullopt.
std::optional<ArpReply> parse_arp_reply(std::span<const uint8_t> frame);

// A VRRP advert in an IPv4 datagram as an IPPROTO_VRRP raw socket delivers it (header with
// options), or the VRRP message of an IPv6 raw socket with its source. Lenient: only what the
// rules compare is read (no checksum or TTL check: a misconfigured router is still a router).
std::optional<HeardAdvert> parse_vrrp_ipv4(std::span<const uint8_t> datagram);
std::optional<HeardAdvert> parse_vrrp_message(const IpAddress& source,
                                              std::span<const uint8_t> message);

}  // namespace vigil::doctor

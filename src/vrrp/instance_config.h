// The settings of one VRRP instance as the protocol core needs them. A plain struct so the core
// does not depend on the config model; the daemon fills it from a parsed `vrrp_instance` block.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/time.h"
#include "vrrp/packet.h"

namespace vigil::vrrp {

inline constexpr uint8_t kOwnerPriority = 255;  // RFC 5798 §5.2.4: the address owner
inline constexpr uint8_t kStopPriority = 0;     // RFC 5798 §5.2.4: the master is leaving

// One `virtual_ipaddress` line: `10.0.0.1/24 dev eth1 label eth1:1 scope global`.
struct VirtualAddress {
  IpPrefix prefix;
  std::optional<IpAddress> broadcast;  // `brd`, IPv4 only; none: no IFA_BROADCAST
  std::string device;                  // empty: the instance's interface
  std::string label;
  std::string scope;  // empty: the kernel's default
  bool operator==(const VirtualAddress&) const = default;
};

// One tracked object (`track_interface`, `track_script`, `track_file` entry) and its weight;
// see PriorityTracker for what the weight does.
struct TrackedObject {
  std::string name;  // e.g. "interface eth1", "script chk_nginx"
  int weight = 0;
  bool initially_up = true;
  bool operator==(const TrackedObject&) const = default;
};

struct InstanceConfig {
  std::string name;       // "VI_1": every log line and notification names it
  std::string interface;  // `interface`; with use_vmac, the VMAC (the VIPs and GARPs go there)
  // The interface adverts leave from when it is not `interface` (use_vmac with vmac_xmit_base:
  // the base interface); empty: `interface`.
  std::string advert_interface;
  uint8_t vrid = 1;        // `virtual_router_id`
  uint8_t priority = 100;  // base priority, 1-255 (`priority`); 255 is the address owner
  uint8_t version = 2;     // `version` / `vrrp_version`: 2 (RFC 3768) or 3 (RFC 5798)
  AddressFamily family = AddressFamily::kIpv4;
  // v2: whole seconds 1-255; v3: centiseconds 0.01-40.95 s (`advert_int`).
  Duration advert_interval = std::chrono::seconds(1);
  // `down_timer_adverts`: adverts in Master_Down_Interval (RFC: 3), 1-100.
  uint32_t down_timer_adverts = 3;
  // Our primary address on the interface (or `unicast_src_ip`): the adverts' source and the
  // tie-break between equal priorities (RFC 5798 §6.4.3).
  IpAddress primary_address;
  std::vector<VirtualAddress> virtual_addresses;
  bool preempt = true;                     // false with `nopreempt`
  Duration preempt_delay{0};               // `preempt_delay`: at startup and on leaving fault
  AuthType auth_type = AuthType::kNone;    // v2 only (`authentication { auth_type PASS }`)
  std::string auth_pass;                   // `auth_pass`, at most 8 bytes are used
  bool accept = false;                     // `accept`: host side only
  std::vector<UnicastPeer> unicast_peers;  // empty: multicast to 224.0.0.18 / ff02::12
  // keepalived's check_unicast_src (also on when a peer sets min_ttl / max_ttl): only the peers
  // may send adverts.
  bool check_unicast_src = false;
  uint8_t unicast_ttl = 255;       // `unicast_ttl`: the TTL / hop limit of adverts to unicast peers
  bool v3_checksum_as_v2 = false;  // v3 over IPv4: checksum without the pseudo-header
  // Gratuitous ARP / unsolicited NA on becoming master: `garp_master_repeat` at once and again
  // after `garp_master_delay`; then `garp_master_refresh_repeat` every `garp_master_refresh`
  // (0 = off) while master.
  int garp_master_repeat = 5;
  Duration garp_master_delay = std::chrono::seconds(5);
  Duration garp_master_refresh{0};
  int garp_master_refresh_repeat = 1;
  // keepalived: a master that hears a lower-priority advert (the other router lost the
  // election, e.g. after a split brain) announces again, `garp_lower_prio_repeat` at once and
  // again after `garp_lower_prio_delay` (0: no second set; repeat 0: none at all).
  int garp_lower_prio_repeat = 5;
  Duration garp_lower_prio_delay = std::chrono::seconds(5);
  // `lower_prio_no_advert`: do not answer such an advert with an advert of our own (RFC 5798
  // §6.4.3 says discard it); by default vigil re-asserts at once, as keepalived does.
  bool lower_prio_no_advert = false;
  // `higher_prio_send_advert`: a master that hears a higher-priority advert sends one advert of
  // its own before it steps down, so that the new master (hearing a lower priority) announces its
  // addresses again after a split brain in which ours were the last announced.
  bool higher_prio_send_advert = false;
  std::vector<TrackedObject> tracked;

  [[nodiscard]] bool is_owner() const { return priority == kOwnerPriority; }
  [[nodiscard]] const std::string& sending_interface() const {
    return advert_interface.empty() ? interface : advert_interface;
  }

  // What received adverts for this VRID are checked against.
  [[nodiscard]] ReceivePolicy receive_policy() const {
    return ReceivePolicy{.version = version,
                         .advert_interval = advert_interval,
                         .auth_type = version == 2 ? auth_type : AuthType::kNone,
                         .auth_data = version == 2 && auth_type == AuthType::kSimplePassword
                                          ? password_auth_data(auth_pass)
                                          : std::array<uint8_t, kV2AuthDataSize>{},
                         .v3_checksum_as_v2 = v3_checksum_as_v2,
                         .unicast = !unicast_peers.empty(),
                         .check_unicast_src = check_unicast_src,
                         .unicast_peers = unicast_peers};
  }

  // The advert this instance sends with `advert_priority` (its priority, or 0 when leaving).
  [[nodiscard]] Advert advert(uint8_t advert_priority) const {
    Advert out{.version = version,
               .vrid = vrid,
               .priority = advert_priority,
               .advert_interval = advert_interval};
    for (const auto& vip : virtual_addresses) {
      if (vip.prefix.address.family() == family && out.addresses.size() < kMaxAddresses)
        out.addresses.push_back(vip.prefix.address);
    }
    if (version == 2) {
      out.auth_type = auth_type;
      if (auth_type == AuthType::kSimplePassword) out.auth_data = password_auth_data(auth_pass);
    }
    return out;
  }
};

}  // namespace vigil::vrrp

// NetlinkVipManager: the VipManager of a Linux host. Virtual addresses are added and removed
// with rtnetlink (libnl-route-3); announce() sends gratuitous ARPs and unsolicited neighbour
// advertisements as whole Ethernet frames (vrrp/announce_frames.h) from one AF_PACKET socket, as
// keepalived does. Each frame carries its own headers, so an NA comes from the VIP with hop
// limit 255 whatever source address the kernel would have selected.
//
// The rtnetlink calls wait for the kernel's acknowledgement: the kernel handles an address
// request inside the send call, so the wait never depends on the network or another process.
// The packet socket is non-blocking; a full send queue is a returned error.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "vrrp/host.h"
#include "vrrp/linux_netdev.h"

struct nl_sock;

namespace vigil::vrrp {

class NetlinkVipManager final : public VipManager {
 public:
  static Result<std::unique_ptr<NetlinkVipManager>> open();
  ~NetlinkVipManager() override;

  // IPv4 with `brd`, `scope`, `label`; IPv6 with IFA_F_NODAD so that the address can be used (and
  // announced) at once, as keepalived adds them. Present addresses count as added.
  Status add_addresses(const std::string& interface,
                       const std::vector<VirtualAddress>& addresses) override;
  // Absent addresses count as removed.
  Status remove_addresses(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses) override;
  // IPv4: an ARP request with sender and target address the VIP, to the broadcast address, from
  // the interface's MAC (what keepalived 2.2 sends). IPv6: a neighbour advertisement from the VIP
  // to ff02::1 with the Override flag (and Router when the interface forwards) and the target
  // link-layer address option (RFC 4861 §7.2.6). `count` of each, back to back; the
  // AnnouncePacer in front of it spaces them (vrrp_garp_interval, garp_group).
  Status announce(const std::string& interface, const std::vector<VirtualAddress>& addresses,
                  int count, const std::shared_ptr<AnnounceTally>& tally) override;

  struct Counters {
    uint64_t addresses_added = 0;    // including ones already present
    uint64_t addresses_removed = 0;  // including ones already absent
    uint64_t gratuitous_arps_sent = 0;
    uint64_t neighbour_adverts_sent = 0;
    uint64_t failures = 0;
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  NetlinkVipManager(nl_sock* sock, UniqueFd packet_fd);
  Status change_address(const std::string& device, const VirtualAddress& address, bool add);
  // Adds or removes each address; one failure never stops the others. Returns the first
  // failure, naming how many more there were.
  Status change_addresses(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses, bool add);
  Status send_gratuitous_arp(const std::string& device, int ifindex, const MacAddress& mac,
                             const IpAddress& address);
  Status send_neighbour_advert(const std::string& device, int ifindex, const MacAddress& mac,
                               const IpAddress& address);

  nl_sock* sock_;
  UniqueFd packet_fd_;  // AF_PACKET, SOCK_RAW, protocol 0: sends only, receives nothing
  Counters counters_;
};

}  // namespace vigil::vrrp

// The host-side roles an Instance acts through. Implementations: raw IPPROTO_VRRP sockets and
// rtnetlink / packet sockets in the daemon; fakes in tests/vrrp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "vrrp/instance_config.h"

namespace vigil::vrrp {

// One encoded advertisement for one destination (the v3 checksum depends on it).
struct OutgoingAdvert {
  std::string interface;
  IpAddress source;
  IpAddress destination;       // 224.0.0.18 / ff02::12 or a unicast peer
  std::vector<uint8_t> bytes;  // the VRRP message; the transport adds the IP header
  // TTL / hop limit: 255 (RFC 5798 §5.1.1.3), or keepalived's unicast_ttl to unicast peers.
  uint8_t ttl = kRequiredTtl;
};

class AdvertTransport {
 public:
  virtual ~AdvertTransport() = default;
  // Sends without blocking. A failure is returned for the caller to count and log.
  virtual Status send(const OutgoingAdvert& advert) = 0;
};

// The gratuitous ARPs and unsolicited neighbour advertisements one instance's announce() calls
// sent, frame by frame (vigil_vrrp_gratuitous_arps_sent_total ...). Shared: a pacer that sends
// some later holds on to it.
struct AnnounceTally {
  uint64_t gratuitous_arps = 0;
  uint64_t neighbour_adverts = 0;
};

class VipManager {
 public:
  virtual ~VipManager() = default;
  // Adds / removes the virtual addresses; a VirtualAddress with an empty device goes on
  // `interface`. Adding an address that is present (or removing an absent one) succeeds.
  virtual Status add_addresses(const std::string& interface,
                               const std::vector<VirtualAddress>& addresses) = 0;
  virtual Status remove_addresses(const std::string& interface,
                                  const std::vector<VirtualAddress>& addresses) = 0;
  // Sends `count` gratuitous ARPs (IPv4) / unsolicited neighbour advertisements (IPv6) for each
  // address, back to back, and counts each frame sent in `tally` (none: not counted).
  virtual Status announce(const std::string& interface,
                          const std::vector<VirtualAddress>& addresses, int count,
                          const std::shared_ptr<AnnounceTally>& tally) = 0;
};

}  // namespace vigil::vrrp

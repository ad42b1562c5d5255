// Small Linux helpers shared by the VRRP host side: errno errors and interface facts (index,
// hardware address, primary address of a family). UniqueFd is common/unique_fd.h.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "common/ip_address.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "vrrp/announce_frames.h"  // MacAddress
#include "vrrp/packet.h"           // kRequiredTtl

namespace vigil::vrrp {

std::string to_string(const MacAddress& mac);

// The interface's index (if_nametoindex).
Result<int> interface_index(const std::string& name);

// Sends one datagram to `destination` from `source` out of interface `ifindex`, choosing the
// source per message with IP_PKTINFO / IPV6_PKTINFO, without blocking. A `ttl` other than the
// socket's 255 goes with the message (IP_TTL / IPV6_HOPLIMIT). Returns sendmsg's result (-1 with
// errno on failure).
ssize_t send_from(int fd, const sockaddr* destination, socklen_t destination_length,
                  std::span<const uint8_t> payload, const IpAddress& source, int ifindex,
                  uint8_t ttl = kRequiredTtl);

// The Ethernet address of an ARPHRD_ETHER interface (SIOCGIFHWADDR); an error for other types.
Result<MacAddress> interface_mac(const std::string& name);

// The address an interface's adverts come from when no mcast_src_ip / unicast_src_ip is set:
// IPv4: its first primary (non-secondary) address; IPv6: its link-local address (RFC 5798
// §5.1.2.1: "the IPv6 link-local address of the interface"). Tentative IPv6 addresses are
// skipped, since they cannot be a source yet.
Result<IpAddress> interface_primary_address(const std::string& name, AddressFamily family);

}  // namespace vigil::vrrp

// LinuxAdvertSocket: one raw IPPROTO_VRRP socket per interface and address family, sending and
// receiving advertisements. Non-blocking: the daemon watches fd() and calls drain() when it is
// readable; send() never waits (a full send buffer is an error for the caller to count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/ip_address.h"
#include "common/result.h"
#include "vrrp/host.h"
#include "vrrp/instance.h"
#include "vrrp/linux_netdev.h"

namespace vigil::vrrp {

struct AdvertSocketOptions {
  std::string interface;
  AddressFamily family = AddressFamily::kIpv4;
  // Join the VRRP group on `interface`. Off for a socket whose instances all use unicast_peer
  // (unicast adverts are received either way).
  bool join_multicast = true;
  // vrrp_mcast_group4 / vrrp_mcast_group6; default 224.0.0.18 / ff02::12.
  std::optional<IpAddress> multicast_group;
  // Room for bursts of adverts from many VRIDs while the loop is busy elsewhere.
  int receive_buffer_bytes = 256 * 1024;
  // keepalived sends adverts as "internetwork control" (IPTOS_PREC_INTERNETCONTROL); the IPv6
  // traffic class gets the same value.
  uint8_t tos = 0xc0;
  // SO_PRIORITY: TC_PRIO_CONTROL, so a busy qdisc sends adverts first.
  int socket_priority = 7;
};

// One message as read from the socket, before decoding.
struct RawAdvertMessage {
  IpAddress source;
  IpAddress destination;
  uint8_t ttl = 0;  // IPv4 header TTL, or IPV6_HOPLIMIT (0 when the kernel did not pass it)
  // IPv4: the whole datagram, IP header included. IPv6: the VRRP message only.
  std::span<const uint8_t> bytes;
};

class LinuxAdvertSocket final : public AdvertTransport {
 public:
  // Read at most this many messages per drain() so one busy socket cannot starve the loop.
  static constexpr size_t kDefaultDrainBudget = 64;

  static Result<std::unique_ptr<LinuxAdvertSocket>> open(AdvertSocketOptions options);

  // Sends `advert.bytes` from `advert.source` to `advert.destination` with TTL / hop limit 255.
  Status send(const OutgoingAdvert& advert) override;

  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const AdvertSocketOptions& options() const { return options_; }

  // Reads until the socket is empty or `budget` messages were read; returns how many were read.
  size_t drain(AdvertReceiver& receiver, size_t budget = kDefaultDrainBudget);
  size_t drain(const std::function<void(const RawAdvertMessage&)>& sink,
               size_t budget = kDefaultDrainBudget);

  struct Counters {
    uint64_t sent = 0;
    uint64_t send_failures = 0;
    uint64_t received = 0;
    uint64_t receive_errors = 0;  // recvmsg failures other than EAGAIN
    uint64_t malformed = 0;       // truncated or without the addresses the decoder needs
  };
  [[nodiscard]] const Counters& counters() const { return counters_; }

 private:
  LinuxAdvertSocket(AdvertSocketOptions options, UniqueFd fd, int ifindex);
  Status configure();
  Status join_group();
  Status send_ipv4(const OutgoingAdvert& advert);
  Status send_ipv6(const OutgoingAdvert& advert);

  AdvertSocketOptions options_;
  UniqueFd fd_;
  int ifindex_;
  Counters counters_;
};

}  // namespace vigil::vrrp

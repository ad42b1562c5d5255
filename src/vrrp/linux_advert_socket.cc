#include "vrrp/linux_advert_socket.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "vrrp/packet.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

// Large enough for the largest advert (8 + 255 * 16 + 8 bytes) behind an IPv4 header with options.
constexpr size_t kReceiveBufferSize = 8192;

Status set_option(int fd, int level, int name, const void* value, socklen_t size,
                  std::string_view what) {
  if (::setsockopt(fd, level, name, value, size) < 0) return errno_error(what, errno);
  return {};
}

Status set_int(int fd, int level, int name, int value, std::string_view what) {
  return set_option(fd, level, name, &value, sizeof(value), what);
}

std::string_view family_name(AddressFamily family) {
  return family == AddressFamily::kIpv4 ? "IPv4" : "IPv6";
}

sockaddr_in to_sockaddr_in(const IpAddress& address) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  std::memcpy(&out.sin_addr, address.bytes(), 4);
  return out;
}

sockaddr_in6 to_sockaddr_in6(const IpAddress& address, int ifindex) {
  sockaddr_in6 out{};
  out.sin6_family = AF_INET6;
  std::memcpy(&out.sin6_addr, address.bytes(), 16);
  // Link-local unicast peers and link-scope groups need the interface as their zone.
  if (address.is_link_local() || address.is_multicast())
    out.sin6_scope_id = static_cast<uint32_t>(ifindex);
  return out;
}

}  // namespace

Result<std::unique_ptr<LinuxAdvertSocket>> LinuxAdvertSocket::open(AdvertSocketOptions options) {
  auto ifindex = interface_index(options.interface);
  if (!ifindex) return ifindex.error();
  const int domain = options.family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(domain, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, kIpProtocolVrrp));
  if (!fd.valid())
    return errno_error(fmt::format("[{}] raw IPPROTO_VRRP socket", options.interface), errno);
  std::unique_ptr<LinuxAdvertSocket> socket(
      new LinuxAdvertSocket(std::move(options), std::move(fd), *ifindex));
  if (Status status = socket->configure(); !status) return status.error();
  if (socket->options_.join_multicast) {
    if (Status status = socket->join_group(); !status) return status.error();
  }
  logger().debug("[{}] VRRP {} socket open (fd {}, ifindex {})", socket->options_.interface,
                 family_name(socket->options_.family), socket->fd(), socket->ifindex_);
  return socket;
}

LinuxAdvertSocket::LinuxAdvertSocket(AdvertSocketOptions options, UniqueFd fd, int ifindex)
    : options_(std::move(options)), fd_(std::move(fd)), ifindex_(ifindex) {}

Status LinuxAdvertSocket::configure() {
  const int fd = fd_.get();
  const auto& name = options_.interface;
  auto fail = [&](const Status& status) {
    return Status(Error{fmt::format("[{}] {}", name, status.error().message)});
  };
  // Only adverts that arrive on this interface (RFC 5798 §7.1 checks the receiving interface).
  if (Status s = set_option(fd, SOL_SOCKET, SO_BINDTODEVICE, name.c_str(),
                            static_cast<socklen_t>(name.size()), "SO_BINDTODEVICE");
      !s)
    return fail(s);
  // SO_RCVBUFFORCE passes rmem_max when we have CAP_NET_ADMIN; SO_RCVBUF is capped by it.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &options_.receive_buffer_bytes, sizeof(int)) <
      0) {
    if (Status s = set_int(fd, SOL_SOCKET, SO_RCVBUF, options_.receive_buffer_bytes, "SO_RCVBUF");
        !s)
      return fail(s);
  }

  if (options_.family == AddressFamily::kIpv4) {
    // RFC 5798 §5.1.1.3: TTL 255, for unicast peers and the group alike.
    if (Status s = set_int(fd, IPPROTO_IP, IP_TTL, kRequiredTtl, "IP_TTL"); !s) return fail(s);
    if (Status s = set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, kRequiredTtl, "IP_MULTICAST_TTL"); !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IP, IP_TOS, options_.tos, "IP_TOS"); !s) return fail(s);
    if (Status s = set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"); !s)
      return fail(s);
    // No DF bit, as keepalived sends them: adverts are small and must never be dropped for PMTU.
    if (Status s = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT, "IP_MTU_DISCOVER");
        !s)
      return fail(s);
    ip_mreqn multicast_if{};
    multicast_if.imr_ifindex = ifindex_;
    if (Status s = set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, &multicast_if, sizeof(multicast_if),
                              "IP_MULTICAST_IF");
        !s)
      return fail(s);
  } else {
    // RFC 5798 §5.1.2.3: hop limit 255.
    if (Status s =
            set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, kRequiredTtl, "IPV6_MULTICAST_HOPS");
        !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, kRequiredTtl, "IPV6_UNICAST_HOPS");
        !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, options_.tos, "IPV6_TCLASS"); !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"); !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex_, "IPV6_MULTICAST_IF"); !s)
      return fail(s);
    // The kernel strips the IPv6 header: ask for the hop limit and destination separately.
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"); !s)
      return fail(s);
    if (Status s = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"); !s)
      return fail(s);
  }
  // After IP_TOS, which resets the priority from the TOS bits.
  if (Status s = set_int(fd, SOL_SOCKET, SO_PRIORITY, options_.socket_priority, "SO_PRIORITY"); !s)
    return fail(s);
  return {};
}

Status LinuxAdvertSocket::join_group() {
  const IpAddress group = options_.multicast_group.value_or(multicast_group(options_.family));
  if (group.family() != options_.family || !group.is_multicast())
    return Error{fmt::format("[{}] {} is not an {} multicast group", options_.interface,
                             group.to_string(), family_name(options_.family))};
  if (options_.family == AddressFamily::kIpv4) {
    ip_mreqn membership{};
    std::memcpy(&membership.imr_multiaddr, group.bytes(), 4);
    membership.imr_ifindex = ifindex_;
    if (::setsockopt(fd_.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership)) < 0)
      return errno_error(
          fmt::format("[{}] IP_ADD_MEMBERSHIP {}", options_.interface, group.to_string()), errno);
  } else {
    ipv6_mreq membership{};
    std::memcpy(&membership.ipv6mr_multiaddr, group.bytes(), 16);
    membership.ipv6mr_interface = static_cast<unsigned>(ifindex_);
    if (::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &membership,
                     sizeof(membership)) < 0)
      return errno_error(
          fmt::format("[{}] IPV6_ADD_MEMBERSHIP {}", options_.interface, group.to_string()), errno);
  }
  return {};
}

Status LinuxAdvertSocket::send(const OutgoingAdvert& advert) {
  Status status;
  if (!advert.interface.empty() && advert.interface != options_.interface) {
    status = Error{fmt::format("[{}] advert for interface {} given to this socket",
                               options_.interface, advert.interface)};
  } else if (advert.source.family() != options_.family ||
             advert.destination.family() != options_.family) {
    status = Error{fmt::format("[{}] advert {} -> {} is not {}", options_.interface,
                               advert.source.to_string(), advert.destination.to_string(),
                               family_name(options_.family))};
  } else if (advert.source.is_unspecified()) {
    // The v3 checksum covers the source: the kernel must not pick one.
    status = Error{fmt::format("[{}] advert without a source address", options_.interface)};
  } else {
    status = options_.family == AddressFamily::kIpv4 ? send_ipv4(advert) : send_ipv6(advert);
  }
  if (status.ok()) {
    ++counters_.sent;
  } else {
    ++counters_.send_failures;
  }
  return status;
}

Status LinuxAdvertSocket::send_ipv4(const OutgoingAdvert& advert) {
  sockaddr_in destination = to_sockaddr_in(advert.destination);
  // IP_PKTINFO picks the source address (the primary address or unicast_src_ip) per message.
  if (send_from(fd_.get(), reinterpret_cast<const sockaddr*>(&destination), sizeof(destination),
                advert.bytes, advert.source, ifindex_, advert.ttl) < 0)
    return errno_error(fmt::format("[{}] send advert {} -> {}", options_.interface,
                                   advert.source.to_string(), advert.destination.to_string()),
                       errno);
  return {};
}

Status LinuxAdvertSocket::send_ipv6(const OutgoingAdvert& advert) {
  sockaddr_in6 destination = to_sockaddr_in6(advert.destination, ifindex_);
  if (send_from(fd_.get(), reinterpret_cast<const sockaddr*>(&destination), sizeof(destination),
                advert.bytes, advert.source, ifindex_, advert.ttl) < 0)
    return errno_error(fmt::format("[{}] send advert {} -> {}", options_.interface,
                                   advert.source.to_string(), advert.destination.to_string()),
                       errno);
  return {};
}

size_t LinuxAdvertSocket::drain(AdvertReceiver& receiver, size_t budget) {
  return drain(
      [&](const RawAdvertMessage& message) {
        if (options_.family == AddressFamily::kIpv4) {
          receiver.on_ipv4_datagram(message.bytes);
        } else {
          receiver.on_ipv6_message(message.source, message.destination, message.ttl, message.bytes);
        }
      },
      budget);
}

size_t LinuxAdvertSocket::drain(const std::function<void(const RawAdvertMessage&)>& sink,
                                size_t budget) {
  std::array<uint8_t, kReceiveBufferSize> buffer;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo))>
      control;
  size_t read = 0;
  for (; read < budget; ++read) {
    sockaddr_storage from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    const ssize_t size = ::recvmsg(fd_.get(), &message, MSG_DONTWAIT);
    if (size < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      ++counters_.receive_errors;
      logger().warn("[{}] receive advert: {}", options_.interface, std::strerror(errno));
      break;
    }
    if ((message.msg_flags & MSG_TRUNC) != 0) {
      ++counters_.malformed;
      logger().debug("[{}] dropped oversized VRRP datagram", options_.interface);
      continue;
    }
    const std::span<const uint8_t> bytes(buffer.data(), static_cast<size_t>(size));
    RawAdvertMessage raw{.bytes = bytes};
    if (options_.family == AddressFamily::kIpv4) {
      if (bytes.size() < kIpv4HeaderSize) {
        ++counters_.malformed;
        continue;
      }
      raw.ttl = bytes[8];
      raw.source = IpAddress::from_bytes(AddressFamily::kIpv4, bytes.data() + 12);
      raw.destination = IpAddress::from_bytes(AddressFamily::kIpv4, bytes.data() + 16);
    } else {
      const auto* from6 = reinterpret_cast<const sockaddr_in6*>(&from);
      if (from.ss_family != AF_INET6) {
        ++counters_.malformed;
        continue;
      }
      raw.source = IpAddress::from_bytes(AddressFamily::kIpv6, from6->sin6_addr.s6_addr);
      bool have_destination = false;
      for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
           header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != IPPROTO_IPV6) continue;
        if (header->cmsg_type == IPV6_HOPLIMIT && header->cmsg_len >= CMSG_LEN(sizeof(int))) {
          int hop_limit = 0;
          std::memcpy(&hop_limit, CMSG_DATA(header), sizeof(hop_limit));
          raw.ttl = static_cast<uint8_t>(hop_limit);
        } else if (header->cmsg_type == IPV6_PKTINFO &&
                   header->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
          in6_pktinfo info{};
          std::memcpy(&info, CMSG_DATA(header), sizeof(info));
          raw.destination = IpAddress::from_bytes(AddressFamily::kIpv6, info.ipi6_addr.s6_addr);
          have_destination = true;
        }
      }
      if (!have_destination) {
        ++counters_.malformed;
        continue;
      }
    }
    ++counters_.received;
    sink(raw);
  }
  return read;
}

}  // namespace vigil::vrrp

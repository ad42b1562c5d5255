#include "vrrp/linux_netdev.h"

#include <fmt/format.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

namespace vigil::vrrp {

std::string to_string(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

Result<int> interface_index(const std::string& name) {
  const unsigned index = ::if_nametoindex(name.c_str());
  if (index == 0) return errno_error(fmt::format("interface {}", name), errno);
  return static_cast<int>(index);
}

Result<MacAddress> interface_mac(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return Error{fmt::format("interface name too long: {}", name)};
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket(AF_INET, SOCK_DGRAM)", errno);
  ifreq request{};
  std::memcpy(request.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd.get(), SIOCGIFHWADDR, &request) < 0)
    return errno_error(fmt::format("SIOCGIFHWADDR {}", name), errno);
  if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    return Error{fmt::format("interface {} is not Ethernet (ARPHRD {})", name,
                             request.ifr_hwaddr.sa_family)};
  MacAddress mac{};
  std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

namespace {

struct NlSockDeleter {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct NlCacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};

std::optional<IpAddress> to_ip_address(nl_addr* addr) {
  if (addr == nullptr) return std::nullopt;
  const int family = nl_addr_get_family(addr);
  const auto* bytes = static_cast<const uint8_t*>(nl_addr_get_binary_addr(addr));
  if (family == AF_INET && nl_addr_get_len(addr) == 4)
    return IpAddress::from_bytes(AddressFamily::kIpv4, bytes);
  if (family == AF_INET6 && nl_addr_get_len(addr) == 16)
    return IpAddress::from_bytes(AddressFamily::kIpv6, bytes);
  return std::nullopt;
}

}  // namespace

Result<IpAddress> interface_primary_address(const std::string& name, AddressFamily family) {
  auto index = interface_index(name);
  if (!index) return index.error();
  std::unique_ptr<nl_sock, NlSockDeleter> sock(nl_socket_alloc());
  if (!sock) return Error{"nl_socket_alloc failed"};
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return Error{fmt::format("netlink connect: {}", nl_geterror(err))};
  nl_cache* raw_cache = nullptr;
  if (int err = rtnl_addr_alloc_cache(sock.get(), &raw_cache); err < 0)
    return Error{fmt::format("address dump: {}", nl_geterror(err))};
  std::unique_ptr<nl_cache, NlCacheDeleter> cache(raw_cache);

  const int wanted_family = family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
  // The kernel dumps addresses in the order they were added; the first match wins.
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr;
       object = nl_cache_get_next(object)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(object);
    if (rtnl_addr_get_ifindex(addr) != *index || rtnl_addr_get_family(addr) != wanted_family)
      continue;
    const unsigned flags = rtnl_addr_get_flags(addr);
    auto local = to_ip_address(rtnl_addr_get_local(addr));
    if (!local) continue;
    if (family == AddressFamily::kIpv4) {
      if ((flags & IFA_F_SECONDARY) == 0) return *local;
    } else if (local->is_link_local() && (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) == 0) {
      return *local;
    }
  }
  return Error{fmt::format("interface {} has no usable {} address", name,
                           family == AddressFamily::kIpv4 ? "IPv4" : "IPv6 link-local")};
}

ssize_t send_from(int fd, const sockaddr* destination, socklen_t destination_length,
                  std::span<const uint8_t> payload, const IpAddress& source, int ifindex,
                  uint8_t ttl) {
  iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(int))>
      control{};
  msghdr message{};
  message.msg_name = const_cast<sockaddr*>(destination);
  message.msg_namelen = destination_length;
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  // CMSG_FIRSTHDR / CMSG_NXTHDR need msg_controllen set to what the headers will fill.
  const size_t pktinfo_space =
      source.is_v4() ? CMSG_SPACE(sizeof(in_pktinfo)) : CMSG_SPACE(sizeof(in6_pktinfo));
  const bool own_ttl = ttl != kRequiredTtl;  // the socket's own TTL / hop limit
  message.msg_controllen = pktinfo_space + (own_ttl ? CMSG_SPACE(sizeof(int)) : 0);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  if (source.is_v4()) {
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_ifindex = ifindex;
    std::memcpy(&info.ipi_spec_dst, source.bytes(), 4);
    std::memcpy(CMSG_DATA(header), &info, sizeof(info));
  } else {
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    info.ipi6_ifindex = static_cast<unsigned>(ifindex);
    std::memcpy(&info.ipi6_addr, source.bytes(), 16);
    std::memcpy(CMSG_DATA(header), &info, sizeof(info));
  }
  if (own_ttl) {
    header = CMSG_NXTHDR(&message, header);
    header->cmsg_level = source.is_v4() ? IPPROTO_IP : IPPROTO_IPV6;
    header->cmsg_type = source.is_v4() ? IP_TTL : IPV6_HOPLIMIT;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    const int value = ttl;
    std::memcpy(CMSG_DATA(header), &value, sizeof(value));
  }
  return ::sendmsg(fd, &message, MSG_DONTWAIT);
}

}  // namespace vigil::vrrp

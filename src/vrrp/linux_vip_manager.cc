#include "vrrp/linux_vip_manager.h"

#include <fmt/format.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/rtnl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <span>

#include "common/log.h"
#include "vrrp/announce_frames.h"
#include "vrrp/linux_nl_addr.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

struct RtnlAddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};

std::string describe(const VirtualAddress& address) {
  std::string out = address.prefix.to_string();
  if (address.broadcast) out += " brd " + address.broadcast->to_string();
  if (!address.scope.empty()) out += " scope " + address.scope;
  if (!address.label.empty()) out += " label " + address.label;
  return out;
}

// RFC 4861 §4.4: the Router flag tells neighbours whether the sender is a router; hosts that see
// it cleared stop using us as one, so it follows the interface's forwarding setting.
bool ipv6_forwarding(const std::string& device) {
  std::ifstream file("/proc/sys/net/ipv6/conf/" + device + "/forwarding");
  int value = 0;
  return (file >> value) && value != 0;
}

// Sends one complete Ethernet frame out of `ifindex` without blocking. Returns 0 or errno.
int send_frame(int fd, std::span<const uint8_t> frame, int ifindex, uint16_t ethertype) {
  // SOCK_RAW: the frame goes out as built; sll_addr repeats its Ethernet destination.
  sockaddr_ll link{};
  link.sll_family = AF_PACKET;
  link.sll_protocol = htons(ethertype);
  link.sll_ifindex = ifindex;
  link.sll_halen = 6;
  std::memcpy(link.sll_addr, frame.data(), 6);
  if (::sendto(fd, frame.data(), frame.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&link), sizeof(link)) < 0)
    return errno;
  return 0;
}

}  // namespace

Result<std::unique_ptr<NetlinkVipManager>> NetlinkVipManager::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Error{"nl_socket_alloc failed"};
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return Error{fmt::format("rtnetlink connect: {}", nl_geterror(err))};
  }
  // Protocol 0: the socket sends frames and never has any delivered to it.
  UniqueFd packet_fd(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!packet_fd.valid()) {
    const int err = errno;
    nl_socket_free(sock);
    return errno_error("AF_PACKET socket for gratuitous ARP and neighbour adverts", err);
  }
  return std::unique_ptr<NetlinkVipManager>(new NetlinkVipManager(sock, std::move(packet_fd)));
}

NetlinkVipManager::NetlinkVipManager(nl_sock* sock, UniqueFd packet_fd)
    : sock_(sock), packet_fd_(std::move(packet_fd)) {}

NetlinkVipManager::~NetlinkVipManager() {
  nl_socket_free(sock_);
}

Status NetlinkVipManager::add_addresses(const std::string& interface,
                                        const std::vector<VirtualAddress>& addresses) {
  return change_addresses(interface, addresses, /*add=*/true);
}

Status NetlinkVipManager::remove_addresses(const std::string& interface,
                                           const std::vector<VirtualAddress>& addresses) {
  return change_addresses(interface, addresses, /*add=*/false);
}

Status NetlinkVipManager::change_addresses(const std::string& interface,
                                           const std::vector<VirtualAddress>& addresses, bool add) {
  Status first_failure;
  size_t failures = 0;
  for (const auto& address : addresses) {
    const std::string& device = address.device.empty() ? interface : address.device;
    Status status = change_address(device, address, add);
    if (status.ok()) {
      ++(add ? counters_.addresses_added : counters_.addresses_removed);
      continue;
    }
    ++counters_.failures;
    logger().warn("{}", status.error().message);
    if (failures++ == 0) first_failure = status;
  }
  if (failures > 1)
    return Error{fmt::format("{} (and {} more)", first_failure.error().message, failures - 1)};
  return first_failure;
}

Status NetlinkVipManager::change_address(const std::string& device, const VirtualAddress& address,
                                         bool add) {
  const char* verb = add ? "add" : "remove";
  auto fail = [&](std::string_view why) {
    return Status(Error{fmt::format("[{}] {} {}: {}", device, verb, describe(address), why)});
  };
  auto ifindex = interface_index(device);
  if (!ifindex) return fail(ifindex.error().message);
  const IpAddress& ip = address.prefix.address;
  const int family = ip.is_v4() ? AF_INET : AF_INET6;

  std::unique_ptr<rtnl_addr, RtnlAddrDeleter> request(rtnl_addr_alloc());
  NlAddrPtr local = to_nl_addr(ip);
  if (!request || !local) return fail("out of memory");
  nl_addr_set_prefixlen(local.get(), address.prefix.length);
  rtnl_addr_set_ifindex(request.get(), *ifindex);
  rtnl_addr_set_family(request.get(), family);
  if (int err = rtnl_addr_set_local(request.get(), local.get()); err < 0)
    return fail(nl_geterror(err));
  rtnl_addr_set_prefixlen(request.get(), address.prefix.length);

  if (add) {
    if (address.broadcast) {
      if (!ip.is_v4() || !address.broadcast->is_v4()) return fail("brd is for IPv4 only");
      NlAddrPtr broadcast = to_nl_addr(*address.broadcast);
      if (int err = rtnl_addr_set_broadcast(request.get(), broadcast.get()); err < 0)
        return fail(nl_geterror(err));
    }
    if (!address.scope.empty()) {
      const int scope = rtnl_str2scope(address.scope.c_str());
      if (scope < 0) return fail(fmt::format("unknown scope \"{}\"", address.scope));
      rtnl_addr_set_scope(request.get(), scope);
    }
    // Labels are an IPv4 notion (ifa_label); the kernel has no place for them on IPv6.
    if (!address.label.empty() && ip.is_v4()) {
      if (int err = rtnl_addr_set_label(request.get(), address.label.c_str()); err < 0)
        return fail(nl_geterror(err));
    }
    // Without NODAD an IPv6 VIP stays tentative for a second or more and cannot be announced
    // or used as a source; the VRRP master owns the address by protocol, not by DAD.
    if (ip.is_v6()) rtnl_addr_set_flags(request.get(), IFA_F_NODAD);
    const int err = rtnl_addr_add(sock_, request.get(), NLM_F_EXCL);
    if (err == -NLE_EXIST) {
      logger().debug("[{}] {} already present", device, describe(address));
      return {};
    }
    if (err < 0) return fail(nl_geterror(err));
    logger().info("[{}] added {}", device, describe(address));
    return {};
  }

  const int err = rtnl_addr_delete(sock_, request.get(), 0);
  if (err == -NLE_NOADDR) {
    logger().debug("[{}] {} already absent", device, describe(address));
    return {};
  }
  if (err < 0) return fail(nl_geterror(err));
  logger().info("[{}] removed {}", device, describe(address));
  return {};
}

Status NetlinkVipManager::announce(const std::string& interface,
                                   const std::vector<VirtualAddress>& addresses, int count,
                                   const std::shared_ptr<AnnounceTally>& tally) {
  struct Device {
    int ifindex = 0;
    MacAddress mac{};
    Status status;
  };
  std::map<std::string, Device> devices;
  auto device_facts = [&](const std::string& name) -> const Device& {
    auto [it, inserted] = devices.try_emplace(name);
    if (inserted) {
      auto ifindex = interface_index(name);
      auto mac = interface_mac(name);
      if (!ifindex) {
        it->second.status = Error{fmt::format("[{}] announce: {}", name, ifindex.error().message)};
      } else if (!mac) {
        it->second.status = Error{fmt::format("[{}] announce: {}", name, mac.error().message)};
      } else {
        it->second.ifindex = *ifindex;
        it->second.mac = *mac;
      }
    }
    return it->second;
  };

  Status first_failure;
  size_t failures = 0;
  auto record = [&](const Status& status) {
    if (status.ok()) return;
    ++counters_.failures;
    if (failures++ == 0) {
      first_failure = status;
      logger().warn("{}", status.error().message);
    }
  };
  for (const auto& address : addresses) {
    const std::string& name = address.device.empty() ? interface : address.device;
    const Device& device = device_facts(name);
    if (!device.status.ok()) {
      record(device.status);
      continue;
    }
    const IpAddress& ip = address.prefix.address;
    for (int i = 0; i < count; ++i) {
      const Status sent = ip.is_v4() ? send_gratuitous_arp(name, device.ifindex, device.mac, ip)
                                     : send_neighbour_advert(name, device.ifindex, device.mac, ip);
      if (sent.ok() && tally) ++(ip.is_v4() ? tally->gratuitous_arps : tally->neighbour_adverts);
      record(sent);
    }
    logger().debug("[{}] announced {} {} time(s)", name, ip.to_string(), count);
  }
  if (failures > 1)
    return Error{fmt::format("{} (and {} more)", first_failure.error().message, failures - 1)};
  return first_failure;
}

Status NetlinkVipManager::send_gratuitous_arp(const std::string& device, int ifindex,
                                              const MacAddress& mac, const IpAddress& address) {
  const GratuitousArpFrame frame = build_gratuitous_arp(mac, address);
  if (int err = send_frame(packet_fd_.get(), frame, ifindex, kEthertypeArp); err != 0)
    return errno_error(fmt::format("[{}] gratuitous ARP for {}", device, address.to_string()), err);
  ++counters_.gratuitous_arps_sent;
  return {};
}

Status NetlinkVipManager::send_neighbour_advert(const std::string& device, int ifindex,
                                                const MacAddress& mac, const IpAddress& address) {
  // The whole frame is ours, IPv6 header included: the source is the VIP whatever the kernel
  // would select for ff02::1, and the hop limit is 255 (RFC 4861 §7.1.2).
  const NeighbourAdvertFrame frame =
      build_unsolicited_neighbour_advert(mac, address, ipv6_forwarding(device));
  if (int err = send_frame(packet_fd_.get(), frame, ifindex, kEthertypeIpv6); err != 0)
    return errno_error(
        fmt::format("[{}] neighbour advert for {}: send", device, address.to_string()), err);
  ++counters_.neighbour_adverts_sent;
  return {};
}

}  // namespace vigil::vrrp

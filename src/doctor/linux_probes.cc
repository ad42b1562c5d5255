// The doctor's active probes on Linux (probes.h): routes from RTM_GETROUTE, ARP Probes from an
// AF_PACKET socket per interface, VRRP adverts from raw IPPROTO_VRRP sockets. Nothing is
// configured or changed: the ARP Probes carry sender address 0.0.0.0 (RFC 5227 §2.1.1), and the
// VRRP sockets only join 224.0.0.18 / ff02::12 for as long as they listen. Every part runs in one
// poll() loop, so the whole takes as long as the longest part (bounded by the plan).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "doctor/doctor.h"

namespace vigil::doctor {

namespace {

constexpr int kIpProtocolVrrp = 112;

std::string error_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

Duration since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
}

// One interface's ARP socket.
struct ArpLink {
  std::string name;
  UniqueFd fd;
  int ifindex = 0;
  Mac own{};
  std::vector<IpAddress> targets;
};

// One interface's VRRP socket for one family.
struct VrrpLink {
  std::string name;
  UniqueFd fd;
  AddressFamily family = AddressFamily::kIpv4;
  Duration until{0};  // since the start
};

std::string open_arp(const std::string& name, ArpLink& link) {
  link.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (link.ifindex == 0) return "no such interface";
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP)));
  if (!fd.valid()) return error_text("socket(AF_PACKET)");
  ifreq request{};
  std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd.get(), SIOCGIFHWADDR, &request) != 0) return error_text("SIOCGIFHWADDR");
  if (request.ifr_hwaddr.sa_family != ARPHRD_ETHER) return "not an Ethernet interface";
  std::memcpy(link.own.data(), request.ifr_hwaddr.sa_data, link.own.size());
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ARP);
  address.sll_ifindex = link.ifindex;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    return error_text("bind(AF_PACKET)");
  link.fd = std::move(fd);
  return {};
}

void send_arp_round(const ArpLink& link) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = link.ifindex;
  to.sll_halen = 6;
  std::fill(to.sll_addr, to.sll_addr + 6, 0xff);
  for (const auto& target : link.targets) {
    const auto frame = build_arp_probe(link.own, target);
    // A lost probe is retried next round; a failing send shows as no answer.
    (void)::sendto(link.fd.get(), frame.data(), frame.size(), 0,
                   reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
}

void read_arp(const ArpLink& link, ArpAnswers& answers) {
  uint8_t buffer[256];
  for (;;) {
    sockaddr_ll from{};
    socklen_t length = sizeof(from);
    const ssize_t n = ::recvfrom(link.fd.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return;
    if (from.sll_pkttype == PACKET_OUTGOING) continue;
    auto reply = parse_arp_reply({buffer, static_cast<size_t>(n)});
    if (!reply) continue;
    if (std::find(link.targets.begin(), link.targets.end(), reply->address) == link.targets.end())
      continue;
    answers.replies[reply->address].insert(reply->sender);
  }
}

std::string open_vrrp(const std::string& name, AddressFamily family, VrrpLink& link) {
  const unsigned ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) return "no such interface";
  const int domain = family == AddressFamily::kIpv4 ? AF_INET : AF_INET6;
  UniqueFd fd(::socket(domain, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kIpProtocolVrrp));
  if (!fd.valid()) return error_text("socket(IPPROTO_VRRP)");
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, name.c_str(),
                   static_cast<socklen_t>(name.size())) != 0)
    return error_text("SO_BINDTODEVICE");
  // RFC 5798 §5.1.1.2 / §5.1.2.2: adverts go to 224.0.0.18 / ff02::12; the link delivers them
  // here only while some socket of this host is a member.
  if (family == AddressFamily::kIpv4) {
    ip_mreqn group{};
    inet_pton(AF_INET, "224.0.0.18", &group.imr_multiaddr);
    group.imr_ifindex = static_cast<int>(ifindex);
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &group, sizeof(group)) != 0)
      return error_text("IP_ADD_MEMBERSHIP 224.0.0.18");
  } else {
    ipv6_mreq group{};
    inet_pton(AF_INET6, "ff02::12", &group.ipv6mr_multiaddr);
    group.ipv6mr_interface = ifindex;
    if (::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_JOIN_GROUP, &group, sizeof(group)) != 0)
      return error_text("IPV6_JOIN_GROUP ff02::12");
  }
  link.fd = std::move(fd);
  return {};
}

void remember(VrrpHeard& heard, HeardAdvert advert) {
  for (auto& known : heard.adverts) {
    if (known.source == advert.source && known.vrid == advert.vrid) {
      known = std::move(advert);
      return;
    }
  }
  heard.adverts.push_back(std::move(advert));
}

void read_vrrp(const VrrpLink& link, VrrpHeard& heard) {
  uint8_t buffer[2048];
  for (;;) {
    sockaddr_storage from{};
    socklen_t length = sizeof(from);
    const ssize_t n = ::recvfrom(link.fd.get(), buffer, sizeof(buffer), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return;
    const std::span<const uint8_t> data(buffer, static_cast<size_t>(n));
    std::optional<HeardAdvert> advert;
    if (link.family == AddressFamily::kIpv4) {
      advert = parse_vrrp_ipv4(data);
    } else if (from.ss_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
      advert = parse_vrrp_message(
          IpAddress::from_bytes(AddressFamily::kIpv6,
                                reinterpret_cast<const uint8_t*>(&in6->sin6_addr)),
          data);
    }
    if (advert) remember(heard, std::move(*advert));
  }
}

}  // namespace

std::optional<Route> LinuxHost::route(const IpAddress& destination) const {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd.valid()) return std::nullopt;
  struct {
    nlmsghdr header;
    rtmsg message;
    char attributes[64];
  } request{};
  const int family = destination.is_v4() ? AF_INET : AF_INET6;
  request.header.nlmsg_type = RTM_GETROUTE;
  request.header.nlmsg_flags = NLM_F_REQUEST;
  request.header.nlmsg_seq = 1;
  request.message.rtm_family = static_cast<unsigned char>(family);
  request.message.rtm_dst_len = static_cast<unsigned char>(destination.size() * 8);
  auto* attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                              NLMSG_ALIGN(NLMSG_LENGTH(sizeof(rtmsg))));
  attribute->rta_type = RTA_DST;
  attribute->rta_len = static_cast<unsigned short>(RTA_LENGTH(destination.size()));
  std::memcpy(RTA_DATA(attribute), destination.bytes(), destination.size());
  request.header.nlmsg_len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(rtmsg))) + attribute->rta_len;
  if (::send(fd.get(), &request, request.header.nlmsg_len, 0) < 0) return std::nullopt;
  alignas(nlmsghdr) char buffer[4096];
  timeval timeout{.tv_sec = 1, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
  if (n <= 0) return std::nullopt;
  auto* header = reinterpret_cast<nlmsghdr*>(buffer);
  if (!NLMSG_OK(header, static_cast<unsigned>(n)) || header->nlmsg_type != RTM_NEWROUTE)
    return std::nullopt;  // NLMSG_ERROR: no route (ENETUNREACH)
  const auto* message = static_cast<const rtmsg*>(NLMSG_DATA(header));
  if (message->rtm_type == RTN_UNREACHABLE || message->rtm_type == RTN_BLACKHOLE ||
      message->rtm_type == RTN_PROHIBIT)
    return std::nullopt;
  Route route;
  route.local = message->rtm_type == RTN_LOCAL;
  int length = static_cast<int>(RTM_PAYLOAD(header));
  for (auto* a = RTM_RTA(message); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
    if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int)) {
      char name[IF_NAMESIZE] = {};
      int ifindex = 0;
      std::memcpy(&ifindex, RTA_DATA(a), sizeof(ifindex));
      if (if_indextoname(static_cast<unsigned>(ifindex), name)) route.interface = name;
    } else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == destination.size()) {
      route.gateway =
          IpAddress::from_bytes(destination.family(), static_cast<const uint8_t*>(RTA_DATA(a)));
    }
  }
  return route;
}

ProbeResults LinuxHost::probe(const ProbePlan& plan) const {
  ProbeResults results;
  results.arp_rounds = plan.arp_rounds;
  results.arp_round = plan.arp_round;
  const auto start = std::chrono::steady_clock::now();

  std::vector<ArpLink> arp_links;
  for (const auto& [name, part] : plan.arp) {
    ArpLink link{.name = name, .targets = {part.targets.begin(), part.targets.end()}};
    ArpAnswers& answers = results.arp[name];
    answers.error = open_arp(name, link);
    if (!answers.error.empty()) continue;
    answers.own = link.own;
    arp_links.push_back(std::move(link));
  }
  std::vector<VrrpLink> vrrp_links;
  for (const auto& [name, part] : plan.vrrp) {
    VrrpHeard& heard = results.vrrp[name];
    for (const auto family : {AddressFamily::kIpv4, AddressFamily::kIpv6}) {
      if (!(family == AddressFamily::kIpv4 ? part.ipv4 : part.ipv6)) continue;
      VrrpLink link{.name = name, .family = family, .until = part.duration};
      if (auto error = open_vrrp(name, family, link); !error.empty()) {
        heard.error = error;
        continue;
      }
      vrrp_links.push_back(std::move(link));
    }
  }

  const Duration arp_end = arp_links.empty() ? Duration{0} : plan.arp_rounds * plan.arp_round;
  Duration end = arp_end;
  for (const auto& link : vrrp_links)
    end = std::max(end, link.until);
  int rounds_sent = 0;
  for (;;) {
    const Duration now = since(start);
    if (now >= end) break;
    if (now < arp_end && rounds_sent < plan.arp_rounds && now >= rounds_sent * plan.arp_round) {
      for (const auto& link : arp_links)
        send_arp_round(link);
      ++rounds_sent;
    }
    std::vector<pollfd> fds;
    for (const auto& link : arp_links)
      fds.push_back({link.fd.get(), POLLIN, 0});
    for (const auto& link : vrrp_links)
      fds.push_back({link.fd.get(), now < link.until ? static_cast<short>(POLLIN) : short{0}, 0});
    Duration next = end;
    if (!arp_links.empty() && rounds_sent < plan.arp_rounds)
      next = std::min(next, rounds_sent * plan.arp_round);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait, 1))) < 0 &&
        errno != EINTR)
      break;
    size_t i = 0;
    for (const auto& link : arp_links) {
      if (fds[i++].revents & POLLIN) read_arp(link, results.arp[link.name]);
    }
    for (const auto& link : vrrp_links) {
      if (fds[i++].revents & POLLIN) read_vrrp(link, results.vrrp[link.name]);
    }
  }
  for (const auto& link : vrrp_links)
    results.vrrp[link.name].listened = link.until;
  return results;
}

}  // namespace vigil::doctor

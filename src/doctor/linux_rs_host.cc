// vigilctl rs-setup --check's gatherer (rs_setup.h): reads this host, changes nothing.
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "doctor/doctor.h"
#include "doctor/rs_setup.h"

namespace vigil::doctor::rs_setup {

namespace {

int prefix_length(const sockaddr* mask, size_t size) {
  if (!mask) return size == 4 ? 32 : 128;
  const auto* bytes =
      mask->sa_family == AF_INET
          ? reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr)
          : reinterpret_cast<const uint8_t*>(
                &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
  int length = 0;
  for (size_t i = 0; i < size; ++i)
    length += __builtin_popcount(bytes[i]);
  return length;
}

std::optional<std::string> read_trimmed(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  return s;
}

// /proc/net/udp{,6}: "sl local_address rem_address st ...", local as HEXADDR:HEXPORT.
void read_udp_ports(const char* path, AddressFamily family,
                    std::set<std::pair<AddressFamily, uint16_t>>& out) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // the heading
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot;
    std::string local;
    fields >> slot >> local;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    out.insert({family, static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16))});
  }
}

}  // namespace

Result<Facts> gather_host() {
  Facts facts;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return errno_error("getifaddrs", errno);
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    HostInterface& interface = facts.interfaces[a->ifa_name];
    interface.up = (a->ifa_flags & IFF_UP) != 0;
    interface.arp = (a->ifa_flags & (IFF_NOARP | IFF_LOOPBACK)) == 0;
    if (!a->ifa_addr) continue;
    const int family = a->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    const bool v4 = family == AF_INET;
    const auto* bytes = v4 ? reinterpret_cast<const uint8_t*>(
                                 &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr)
                           : reinterpret_cast<const uint8_t*>(
                                 &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr);
    const IpAddress address =
        IpAddress::from_bytes(v4 ? AddressFamily::kIpv4 : AddressFamily::kIpv6, bytes);
    interface.addresses.insert(address.to_string() + "/" +
                               std::to_string(prefix_length(a->ifa_netmask, v4 ? 4 : 16)));
  }
  freeifaddrs(list);
  for (const auto& name : wanted_sysctls(facts.interfaces)) {
    const std::string path = sysctl_path(name);
    if (path.empty()) continue;
    if (auto value = read_trimmed(path)) facts.sysctls[name] = *value;
  }
  read_udp_ports("/proc/net/udp", AddressFamily::kIpv4, facts.udp_ports);
  read_udp_ports("/proc/net/udp6", AddressFamily::kIpv6, facts.udp_ports);
  return facts;
}

}  // namespace vigil::doctor::rs_setup

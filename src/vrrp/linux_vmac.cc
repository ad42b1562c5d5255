#include "vrrp/linux_vmac.h"

#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>

#include <cstring>
#include <fstream>

#include "common/log.h"
#include "vrrp/linux_netdev.h"
#include "vrrp/linux_nl_addr.h"

namespace vigil::vrrp {
namespace {

spdlog::logger& logger() {
  static const auto instance = log::get("vrrp");
  return *instance;
}

struct RtnlLinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
using LinkPtr = std::unique_ptr<rtnl_link, RtnlLinkDeleter>;

struct RtnlAddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};

Status nl_error(const std::string& what, int err) {
  return Error{fmt::format("{}: {}", what, nl_geterror(err))};
}

NlAddrPtr mac_address(const MacAddress& mac) {
  return NlAddrPtr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
}

// The interface as the kernel has it, or null when there is none of that name.
LinkPtr kernel_link(nl_sock* sock, const std::string& name) {
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(sock, 0, name.c_str(), &link) < 0) return nullptr;
  return LinkPtr(link);
}

bool is_our_macvlan(rtnl_link* link, const VmacPlan& plan, int base_index) {
  const char* type = rtnl_link_get_type(link);
  if (type == nullptr || std::strcmp(type, "macvlan") != 0) return false;
  if (rtnl_link_get_link(link) != base_index) return false;
  if (rtnl_link_macvlan_get_mode(link) != MACVLAN_MODE_PRIVATE) return false;
  nl_addr* address = rtnl_link_get_addr(link);
  return address != nullptr && nl_addr_get_len(address) == plan.mac.size() &&
         std::memcmp(nl_addr_get_binary_addr(address), plan.mac.data(), plan.mac.size()) == 0;
}

}  // namespace

Result<std::unique_ptr<NetlinkVmacHost>> NetlinkVmacHost::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Error{"nl_socket_alloc failed"};
  if (int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return Error{fmt::format("rtnetlink connect: {}", nl_geterror(err))};
  }
  return std::unique_ptr<NetlinkVmacHost>(new NetlinkVmacHost(sock));
}

NetlinkVmacHost::~NetlinkVmacHost() {
  nl_socket_free(sock_);
}

Status NetlinkVmacHost::create(const VmacPlan& plan, int base_index) {
  LinkPtr link(rtnl_link_macvlan_alloc());
  auto mac = mac_address(plan.mac);
  if (!link || !mac) return Error{"out of memory"};
  rtnl_link_set_name(link.get(), plan.name.c_str());
  rtnl_link_set_link(link.get(), base_index);
  rtnl_link_set_addr(link.get(), mac.get());
  // Private mode, as keepalived: the macvlan takes no frames from its sibling macvlans.
  if (int err = rtnl_link_macvlan_set_mode(link.get(), MACVLAN_MODE_PRIVATE); err < 0)
    return nl_error("macvlan mode", err);
  if (int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error(fmt::format("creating macvlan {} on {}", plan.name, plan.base), err);
  return {};
}

Status NetlinkVmacHost::ensure(const VmacPlan& plan) {
  auto base_index = interface_index(plan.base);
  if (!base_index) return base_index.error();
  if (auto existing = kernel_link(sock_, plan.name)) {
    const char* type = rtnl_link_get_type(existing.get());
    if (is_our_macvlan(existing.get(), plan, *base_index)) {
      logger().info("[vmac {}] kept: already a private macvlan on {} with {}", plan.name, plan.base,
                    to_string(plan.mac));
    } else if (type != nullptr && std::strcmp(type, "macvlan") == 0) {
      logger().info("[vmac {}] exists with another base, MAC or mode: replacing it", plan.name);
      if (auto removed = remove(plan.name); !removed) return removed;
      if (auto made = create(plan, *base_index); !made) return made;
    } else {
      return Error{fmt::format("interface {} exists and is not a macvlan", plan.name)};
    }
  } else if (auto made = create(plan, *base_index); !made) {
    return made;
  }
  for (const auto& setting : vmac_sysctls(plan)) {
    if (auto written = write_sysctl(setting); !written)
      logger().warn("[vmac {}] {}", plan.name, written.error().message);
  }
  auto link = kernel_link(sock_, plan.name);
  if (!link) return Error{fmt::format("macvlan {} vanished after creation", plan.name)};
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Error{"out of memory"};
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock_, link.get(), change.get(), 0); err < 0)
    return nl_error(fmt::format("bringing {} up", plan.name), err);
  if (plan.link_local) {
    std::unique_ptr<rtnl_addr, RtnlAddrDeleter> addr(rtnl_addr_alloc());
    auto local = to_nl_addr(*plan.link_local, 64);
    if (!addr || !local) return Error{"out of memory"};
    rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link.get()));
    rtnl_addr_set_family(addr.get(), AF_INET6);
    rtnl_addr_set_local(addr.get(), local.get());
    rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
    // Deprecated (preferred lifetime 0), as keepalived adds it: the kernel picks it as a source
    // only when asked to, as for the adverts.
    rtnl_addr_set_valid_lifetime(addr.get(), 0xffffffffU);
    rtnl_addr_set_preferred_lifetime(addr.get(), 0);
    if (int err = rtnl_addr_add(sock_, addr.get(), NLM_F_REPLACE); err < 0 && err != -NLE_EXIST)
      return nl_error(fmt::format("adding {} to {}", plan.link_local->to_string(), plan.name), err);
  }
  logger().info("[vmac {}] up: private macvlan on {} with {}", plan.name, plan.base,
                to_string(plan.mac));
  return {};
}

Status NetlinkVmacHost::remove(const std::string& name) {
  auto link = kernel_link(sock_, name);
  if (!link) return {};
  if (int err = rtnl_link_delete(sock_, link.get()); err < 0 && err != -NLE_NODEV)
    return nl_error(fmt::format("deleting {}", name), err);
  logger().info("[vmac {}] removed", name);
  return {};
}

std::optional<int> NetlinkVmacHost::read_sysctl(const SysctlSetting& where) const {
  std::ifstream file(where.path());
  int value = 0;
  if (!(file >> value)) return std::nullopt;
  return value;
}

Status NetlinkVmacHost::write_sysctl(const SysctlSetting& setting) {
  std::ofstream file(setting.path());
  file << setting.value << '\n';
  file.flush();
  if (!file) return Error{fmt::format("cannot write {} to {}", setting.value, setting.path())};
  return {};
}

}  // namespace vigil::vrrp
